"""The adult-content signal: a density of LDNOOBW list hits, so clinical, sex-education and LGBTQ
text stays at the default threshold while keyword-stuffed porn spam goes."""
from __future__ import annotations

import gzip
import json

import pytest

from curation.stages.recipe import load_recipe
from curation.text.adult import adult_hits, list_languages
from curation.text.quality import quality_signals
from curation.text.segment import words
from tests.helpers import BASE_FLAGS, run_json, write_jsonl

# Benign text written for these tests, dense in the lists' clinical words on purpose.
BENIGN = {
    "en": [
        "Puberty usually starts between the ages of eight and fourteen. Hormones cause the body to change: girls "
        "develop breasts and start their periods, and boys notice that the penis and testicles grow and that they "
        "may have erections or wet dreams. These changes are normal, and every body changes at its own pace. Sex "
        "education at school explains how the vagina, the uterus and the ovaries work, what happens during sexual "
        "intercourse, and how pregnancy begins. It also teaches consent: nobody may touch your body without your "
        "permission, and you can always say no. Condoms protect against sexually transmitted infections such as "
        "chlamydia, gonorrhoea and HIV, and they also prevent pregnancy. Many young people have questions about "
        "masturbation, sexuality or their feelings, and it helps to talk to a parent, a school nurse or a doctor "
        "you trust. Reliable information makes young people safer and more confident.",
        "Cervical cancer screening looks for changes in the cells of the cervix, the lower part of the uterus that "
        "opens into the vagina. During the test, the nurse gently inserts a speculum into the vagina and takes a "
        "small sample of cells with a soft brush. The test takes only a few minutes and is not usually painful. "
        "Most abnormal results are caused by the human papillomavirus (HPV), which is passed on through sexual "
        "contact, including vaginal, anal and oral sex. Vaccination against HPV before people become sexually "
        "active prevents most of these infections. Men can also be affected: HPV can cause cancers of the penis, "
        "the anus and the throat. Symptoms that should be checked by a doctor include bleeding after sex, between "
        "periods or after the menopause, and unusual discharge. Regular screening has halved deaths from cervical "
        "cancer in the countries that offer it to all women between twenty-five and sixty-four.",
        "The city's first Pride march took place in 1994, when about two hundred gay, lesbian, bisexual and "
        "transgender people walked through the old town despite threats of violence. Today the festival draws tens "
        "of thousands of visitors. Organisers say that the march is still a protest as much as a celebration: in "
        "many countries same-sex relationships remain illegal, and even where they are legal, people are harassed "
        "because of their sexual orientation or gender identity. The local support centre offers counselling for "
        "young people who are coming out, advice on discrimination at work, and a helpline for older people who "
        "live alone. Its director, who came out as gay at the age of forty, says that visibility matters: seeing "
        "openly queer teachers, doctors and politicians tells a frightened teenager that there is a future. The "
        "centre also runs workshops on sexual health and on the history of the movement, from the Stonewall riots "
        "to the first same-sex marriages.",
    ],
    "de": [
        "Die Vorsorgeuntersuchung beim Frauenarzt dient dazu, Veränderungen am Gebärmutterhals früh zu erkennen. "
        "Dabei wird ein Abstrich aus der Scheide genommen und im Labor untersucht. Viele Frauen haben vor der "
        "Untersuchung Angst, doch sie dauert nur wenige Minuten. Humane Papillomviren werden beim "
        "Geschlechtsverkehr übertragen, auch beim Oral- und Analverkehr; Kondome senken das Risiko, schützen aber "
        "nicht vollständig. Die Impfung gegen HPV wird Mädchen und Jungen zwischen neun und vierzehn Jahren "
        "empfohlen, am besten vor dem ersten Sex. Auch Männer können erkranken, etwa an Krebs des Penis oder des "
        "Afters. Wer Blutungen nach dem Geschlechtsverkehr bemerkt, sollte zeitnah einen Arzt aufsuchen. Die "
        "Krankenkassen übernehmen die Kosten der jährlichen Untersuchung ab dem zwanzigsten Lebensjahr.",
    ],
    "es": [
        "La educación sexual en la escuela ayuda a los adolescentes a conocer su cuerpo y a tomar decisiones "
        "informadas. Durante la pubertad, las chicas empiezan a menstruar y les crecen los senos, y los chicos "
        "notan cambios en el pene y los testículos. Es normal tener dudas sobre la masturbación, la orientación "
        "sexual o las relaciones. El preservativo protege contra las infecciones de transmisión sexual y evita el "
        "embarazo; la píldora solo evita el embarazo. Si una relación sexual no es consentida, es una agresión, y "
        "las víctimas pueden pedir ayuda en el centro de salud. Las personas gais, lesbianas y trans tienen derecho "
        "a recibir la misma información y el mismo respeto que las demás. Los profesores deben responder a las "
        "preguntas con claridad y sin juicios, y las familias pueden consultar a la enfermera escolar.",
    ],
    "ru": [
        "Рак шейки матки — одно из самых частых онкологических заболеваний у женщин. Его главная причина — вирус "
        "папилломы человека, который передаётся половым путём. Регулярный осмотр у гинеколога и мазок позволяют "
        "обнаружить изменения клеток задолго до появления опухоли. Вакцинация против вируса рекомендуется девочкам "
        "и мальчикам до начала половой жизни. Презервативы снижают риск заражения, но не защищают полностью. "
        "Тревожными признаками считаются кровотечения после полового акта, боли внизу живота и необычные выделения "
        "из влагалища. Мужчины тоже болеют: вирус может вызывать рак полового члена и заднего прохода. Врачи "
        "советуют не откладывать визит к специалисту: на ранней стадии болезнь хорошо поддаётся лечению, а секс и "
        "беременность после лечения в большинстве случаев возможны.",
    ],
}
# Keyword-stuffed spam, the kind the lists are for (assembled from list entries and filler).
SPAM = ("Free porn videos and xxx sex cams for you. Watch hardcore porn, milf porn and amateur sex for free. This is "
        "the best porn tube with new sex videos every day. Hot milf, big tits and anal xxx clips are here. Join the "
        "live sex chat with nude webcam girls. Download porn, stream porn and share porn with your friends. It is "
        "the fastest xxx site online, and it is free.")


def density(text: str, lang: str) -> float:
    return quality_signals(text, lang, (lang,))["adult_word_density"]


def default_threshold() -> float:
    return load_recipe().quality["defaults"]["max_adult_word_density"]


@pytest.mark.parametrize("lang,text", [(lang, t) for lang, texts in BENIGN.items() for t in texts])
def test_benign_clinical_sex_education_and_lgbtq_text_is_under_the_default_threshold(lang, text):
    assert 0 < density(text, lang) < default_threshold()


def test_benign_text_is_kept_and_spam_dropped_by_agora_curate(tmp_path, capsys):
    ws = ["--workspace", str(tmp_path / "ws")]
    run_json(capsys, "init", *ws)
    rows = [{"id": f"{lang}-{i}", "text": t} for lang, texts in BENIGN.items() for i, t in enumerate(texts)]
    write_jsonl(tmp_path / "health.jsonl", [*rows, {"id": "spam", "text": SPAM}])
    run_json(capsys, "register", str(tmp_path / "health.jsonl"), "--name", "health", "--id-field", "id",
             "--languages", ",".join(BENIGN), *BASE_FLAGS, *ws)
    run = run_json(capsys, "curate", *ws)["run_id"]
    doc_ids = {r["record"]["record_id"]: r for r in (
        run_json(capsys, "docs", "show", doc_id, "--run", run, *ws) for doc_id in _doc_ids(tmp_path / "ws", run))}
    assert {rid for rid, doc in doc_ids.items() if doc["decision"]["kept"]} == {r["id"] for r in rows}
    spam = doc_ids["spam"]["decision"]
    assert (spam["step"], spam["rule"], spam["threshold"]) == ("quality", "max_adult_word_density", default_threshold())


def _doc_ids(workspace, run_id) -> list[str]:
    import duckdb

    con = duckdb.connect(str(workspace / "catalog.duckdb"), read_only=True)
    con.execute("SET file_search_path = ?", [str(workspace)])
    try:
        return [d for (d,) in con.execute("SELECT doc_id FROM decisions WHERE run_id = ?", [run_id]).fetchall()]
    finally:
        con.close()


def test_a_density_not_one_hit():
    """C4 drops a page for one listed word; here one word in a paragraph is a small density."""
    text = ("The committee met on Tuesday evening and discussed the new curriculum for the coming school year, "
            "including sex education for the older pupils, a second foreign language from the fifth grade, more "
            "hours of sport and music, and a reading hour every Friday. Parents may comment on the plan until the "
            "end of the month; the final version will be published in the spring.")
    assert density(text, "en") == pytest.approx(1 / len(words(text)))
    assert density(text, "en") < default_threshold() / 4


def test_whole_words_and_phrases_count_once():
    assert adult_hits(["analysis", "of", "scunthorpe"], ["en"]) == 0  # never a part of a word
    assert adult_hits(["big", "tits"], ["en"]) == 1  # a phrase is one hit, not "tits" again
    assert adult_hits(["hijo", "de", "puta"], ["es"]) == 1
    assert adult_hits([w.lower() for w in words("S&M")], ["en"]) == 1  # cut into words as the entry is


def test_lists_of_the_detected_and_declared_languages_plus_english():
    german = ["ficken"]
    assert adult_hits(german, ["de"]) == 1
    assert adult_hits(german, ["fr"]) == 0  # not a French word
    assert adult_hits(["porn"], ["fr"]) == 1  # English spam in any language
    assert adult_hits(["kuk"], ["nb"]) == adult_hits(["kuk"], ["no"]) == 1  # detectors say nb, the list is "no"
    assert "zh" in list_languages() and len(list_languages()) == 27


def test_unspaced_scripts_match_runs_of_letters():
    text = "他们在网上讨论做爱的话题。"  # 做爱 is a Chinese list entry; each Han letter is one word
    assert adult_hits([w.lower() for w in words(text)], ["zh"]) == 1


def test_shipped_lists_are_the_shared_copy_rebuilt(shared_data):
    from benchmarks.build_adult_words import OUT, entries, source_commit

    folder = shared_data / "wordlists" / "ldnoobw"
    shipped = OUT.read_text("utf-8").splitlines()
    assert f"commit {source_commit(folder)}" in "\n".join(shipped[:5]) and "CC BY 4.0" in shipped[3]
    assert [tuple(line.split("\t")) for line in shipped if not line.startswith("#")] == entries(folder)


def test_no_clean_hplt_page_breaks_the_default_threshold(shared_data):
    """Real clean web pages (labeled by native speakers) include sex-advice columns, a contraception
    guide and a Wikipedia article on pubic hair: none is near the default threshold."""
    path = shared_data / "quality" / "hplt-dev" / "hplt_v2_dev.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    clean = [r for r in rows if r["lang_correct"] and not r["porn"] and not r["unnatural"] and r["text"]]
    lang = {"ben": "bn", "cat": "ca", "ces": "cs", "deu": "de", "eng": "en", "nld": "nl", "nob": "nb", "pol": "pl",
            "rus": "ru", "slk": "sk", "spa": "es"}
    densest = max(density(r["text"].replace("..........", "\n\n"), lang[r["lang"][:3]]) for r in clean)
    assert 0.02 < densest < default_threshold() / 2
