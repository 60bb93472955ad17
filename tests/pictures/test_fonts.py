"""Step names in any script: CJK labels drawn with a font that has their glyphs (or,
with none installed, one warning that names fonts to install), and every step's full
name findable in an SVG."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import pytest
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.ft2font import FT2Font

from rxsteps import RxStepsWarning, Step, StepGraph, run
from rxsteps.pictures import fonts
from rxsteps.pictures.drawing import draw_graph
from rxsteps.pictures.timeline import draw_timeline

SEARCH, ANSWER = "検索", "回答_한국어_要約する長い名前のステップ"
LONG = "fetch_customer_profile_and_purchase_history_from_the_warehouse"


@pytest.fixture(scope="module")
def cjk() -> StepGraph:
    return StepGraph([Step(SEARCH, lambda q: q, ["質問"]),
                      Step(ANSWER, lambda s: s, [SEARCH])], inputs=["質問"])


def test_a_cjk_font_is_found_when_one_is_installed() -> None:
    # CI installs Debian's fonts-wqy-microhei (.ci/run); a font matplotlib's cache missed
    # is found among the system's font files.
    families = fonts.font_families()
    assert families[0] == "sans-serif"
    assert len(families) > 1, "no CJK font: apt-get install fonts-wqy-microhei"


def test_every_glyph_of_a_cjk_label_is_in_a_font_used(cjk: StepGraph) -> None:
    figure = draw_graph(cjk)
    label = next(t for t in figure.axes[0].texts if t.get_gid() == f"label:{ANSWER}")
    paths = fontManager._find_fonts_by_props(FontProperties(family=label.get_fontfamily()))
    covered = set().union(*(FT2Font(str(path)).get_charmap() for path in paths))
    assert {ord(c) for c in ANSWER} <= covered


def test_cjk_pictures_draw_without_warnings(cjk: StepGraph, tmp_path: Path) -> None:
    result = run(cjk, {"質問": "なぜ"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draw_graph(cjk, tmp_path / "dag.png", result=result)
        draw_timeline(result, tmp_path / "run.png")
    assert (tmp_path / "dag.png").stat().st_size > 5000


NO_CJK_FONT = (
    f"no installed font has the CJK characters of {'質問'!r}, so pictures show them as "
    "empty boxes: install one (apt-get install fonts-noto-cjk or fonts-wqy-microhei, "
    "or any font with these glyphs) and restart Python")


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    """The font lookup finds no CJK font, and nothing has been warned about yet."""
    monkeypatch.setattr(fonts, "font_families", lambda: ("DejaVu Sans",))
    monkeypatch.setattr(fonts, "_WARNED", set())


@pytest.mark.usefixtures("no_cjk_font")
def test_without_a_cjk_font_cjk_labels_warn_once_naming_fonts_to_install(
        cjk: StepGraph, tmp_path: Path) -> None:
    with pytest.warns(RxStepsWarning, match=f"^{re.escape(NO_CJK_FONT)}$") as caught:
        draw_graph(cjk, tmp_path / "dag.png")
    assert len(caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process; matplotlib's own stay quiet
        figure = draw_graph(cjk, tmp_path / "dag.png")
        draw_timeline(run(cjk, {"質問": "なぜ"}), tmp_path / "run.png")
        figure.savefig(tmp_path / "again.png")  # saving it yourself does not warn either
        figure._repr_png_()  # nor does Jupyter's picture of it
    assert (tmp_path / "again.png").stat().st_size > 5000


@pytest.mark.usefixtures("no_cjk_font")
@pytest.mark.parametrize("draw", ["graph.draw", "draw_graph", "result.timeline"])
def test_the_no_cjk_font_warning_names_the_line_that_drew(
        cjk: StepGraph, tmp_path: Path, draw: str) -> None:
    result = run(cjk, {"質問": "なぜ"})
    label = SEARCH if draw == "result.timeline" else "質問"  # its first lane: no input lane
    message = NO_CJK_FONT.replace(repr("質問"), repr(label))
    with pytest.warns(RxStepsWarning, match=f"^{re.escape(message)}$") as caught:
        if draw == "graph.draw":
            cjk.draw(tmp_path / "dag.png")  # was reported at rxsteps/graph.py
        elif draw == "draw_graph":
            draw_graph(cjk, tmp_path / "dag.png")
        else:
            result.timeline(tmp_path / "run.png")
    assert [w.filename for w in caught] == [__file__]  # was rxsteps/graph.py, …/figures.py


@pytest.mark.usefixtures("no_cjk_font")
def test_a_timeline_warns_with_the_whole_step_name(tmp_path: Path) -> None:
    result = run(StepGraph([Step(ANSWER, lambda: 1)]))
    with pytest.warns(RxStepsWarning, match=re.escape(f"CJK characters of {ANSWER!r}, ")):
        draw_timeline(result, tmp_path / "run.png")


@pytest.mark.usefixtures("no_cjk_font")
def test_without_a_cjk_font_latin_labels_do_not_warn(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draw_graph(StepGraph([Step(LONG, lambda: 1)]), tmp_path / "dag.png")


def test_with_a_cjk_font_cjk_labels_do_not_warn(
        cjk: StepGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "font_families", lambda: ("sans-serif", "WenQuanYi Micro Hei"))
    monkeypatch.setattr(fonts, "_WARNED", set())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draw_graph(cjk)


def _titles(svg: str) -> list[str]:
    return re.findall(r"<title>(.*?)</title>", svg)


def test_wrapped_names_are_whole_in_svg_titles(cjk: StepGraph, tmp_path: Path) -> None:
    graph = StepGraph([Step(LONG, lambda: 1), Step("b", lambda a: a, [LONG]),
                       Step('say "hi" & <go>', lambda a: a, [LONG])])
    draw_graph(graph, tmp_path / "dag.svg")
    svg = (tmp_path / "dag.svg").read_text(encoding="utf-8")
    assert LONG not in re.findall(r"<text[^>]*>(.*?)</text>", svg)  # wrapped over lines...
    assert LONG in _titles(svg)  # ...and the full name is the box's title
    assert 'say "hi" &amp; &lt;go&gt;' in _titles(svg)
    draw_graph(cjk, tmp_path / "cjk.svg")
    assert {SEARCH, ANSWER, "質問"} <= set(_titles((tmp_path / "cjk.svg").read_text("utf-8")))


def test_shortened_timeline_lanes_keep_the_full_name(tmp_path: Path) -> None:
    result = run(StepGraph([Step(LONG, lambda: 1)]))
    draw_timeline(result, tmp_path / "run.svg")
    svg = (tmp_path / "run.svg").read_text(encoding="utf-8")
    assert LONG in _titles(svg)


def test_svg_saved_by_hand_has_titles_too() -> None:
    figure = draw_graph(StepGraph([Step(LONG, lambda: 1)]))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg")  # what the example app does
    assert LONG in _titles(buffer.getvalue().decode("utf-8"))
    text = io.StringIO()
    figure.savefig(text, format="svg")
    assert LONG in _titles(text.getvalue())
