from __future__ import annotations

from django.utils import translation

from apps.sessions.templatetags.chat_format import (
    card_manual_label,
    card_price,
    citation_links,
    manual_label,
    spoken_name,
    text_dir,
)


def test_it_links_each_cited_page_to_the_manual_document():
    html = citation_links(
        "Press SPLIT. [p. 12] Then save. [p. 14]",
        [
            {"page": 12, "url": "/manuals/3/document#page=12"},
            {"page": 14, "url": "/manuals/3/document#page=14"},
        ],
    )
    assert '<a class="cite" href="/manuals/3/document#page=12"' in html
    assert '<a class="cite" href="/manuals/3/document#page=14"' in html
    assert 'target="_blank" rel="noopener noreferrer">[p. 14]</a>' in html


def test_it_links_the_page_markers_of_a_hebrew_answer_too():
    html = citation_links(
        "לפי המדריך: Press SPLIT. [עמ' 12] Then save. [עמ' 14-15]",
        [{"page": 12, "url": "/m/12"}, {"page": 14, "url": "/m/14"}],
    )
    assert (
        '<a class="cite" href="/m/12" target="_blank" rel="noopener noreferrer">[עמ&#x27; 12]</a>'
        in html
    )
    assert '<a class="cite" href="/m/14"' in html


def test_it_escapes_the_answer_text_around_the_links():
    html = citation_links("<b>Hold</b> & release [p. 2]", [{"page": 2, "url": "/m/2"}])
    assert html.startswith("&lt;b&gt;Hold&lt;/b&gt; &amp; release <a ")


def test_it_leaves_a_marker_without_a_citation_as_text():
    assert citation_links("See [p. 9].", []) == "See [p. 9]."


def test_it_refuses_to_link_a_script_url_from_a_citation():
    html = citation_links("x [p. 1]", [{"page": 1, "url": "javascript:alert(1)"}])
    assert "<a" not in html
    assert "javascript" not in html


def test_it_links_a_web_address_in_the_answer_without_its_closing_punctuation():
    html = citation_links(
        "Open its product page (https://shop.example/p/rc-600?x=1&y=2); or see [p. 3].",
        [{"page": 3, "url": "/m/3"}],
    )
    assert (
        '(<a class="web" href="https://shop.example/p/rc-600?x=1&amp;y=2" target="_blank" '
        'rel="noopener noreferrer">https://shop.example/p/rc-600?x=1&amp;y=2</a>);'
    ) in html
    assert '<a class="cite" href="/m/3"' in html
    assert html.endswith("</a>.")


def test_a_web_address_cannot_carry_markup_or_another_scheme():
    html = citation_links('javascript:alert(1) http://x.example/"onmouseover=1 <b>', [])
    assert html.count("<a ") == 1
    assert 'href="http://x.example/"' in html
    assert "javascript:alert(1)" in html  # as text
    assert "&quot;onmouseover=1 &lt;b&gt;" in html


def test_the_manual_label_reads_progress_and_failure_as_sentences():
    assert manual_label({"status": "fetching", "progress": 0.4}) == "Downloading the manual… 40%"
    assert manual_label({"status": "ready", "pages": 48}) == "Manual ready · 48 pages"
    assert manual_label({"status": "failed", "error": "The site is down."}) == "The site is down."
    assert manual_label(None) == "No manual on file for this product"


def test_a_card_with_several_documents_all_ready_says_how_many():
    ready = {"id": 1, "status": "ready", "pages": 5}
    card = {"manual": ready, "documents": [ready, {"id": 2, "status": "ready", "pages": 8}]}
    assert card_manual_label(card) == "2 documents ready"
    with translation.override("he"):
        assert card_manual_label(card) == "2 מסמכים מוכנים"
    # One still on its way: the headline is the first document's, as with one document.
    card["documents"][1] = {"id": 2, "status": "fetching", "progress": 0.5}
    assert card_manual_label(card) == "Manual ready · 5 pages"
    assert card_manual_label({"manual": ready, "documents": [ready]}) == "Manual ready · 5 pages"
    assert card_manual_label(None) == "No manual on file for this product"


def test_the_price_is_grouped_with_its_currency():
    assert card_price({"price": "2990.00", "currency": "ILS"}) == "₪2,990.00"
    assert card_price({"price": None, "currency": "ILS"}) == ""


def test_a_hebrew_question_reads_right_to_left_even_when_it_opens_with_a_model_name():
    assert text_dir("n32b איך שולחים snapshot ב-sysex?") == "rtl"
    assert text_dir("איך עושים ריסט?") == "rtl"
    # English, with or without a Hebrew word, and text with no letters: the browser decides.
    assert text_dir("how do I reset the n32b? תודה") == "auto"
    assert text_dir("RC-600?") == "auto"


def test_the_card_says_the_brand_once():
    from django.template.loader import render_to_string

    def brand_line(name: str, brand: str) -> str:
        html = render_to_string(
            "chat/_product_card.html", {"product": {"name": name, "brand": brand}}
        )
        return html.split('class="card-brand"', 1)[1].split("</p>", 1)[0]

    assert brand_line("Boss Katana-50 MkII", "Boss") == ' dir="auto" hidden>'
    assert brand_line("N32B", "Shik") == ' dir="auto">Shik'
    assert spoken_name({"name": "N32B", "brand": "Shik"}) == "Shik N32B"
    assert spoken_name({"name": "Boss Katana-50 MkII", "brand": "Boss"}) == "Boss Katana-50 MkII"
