from scoqa.evaluate.metrics import exact_match, f1_score, normalize_answer


def test_official_normalisation():
    assert normalize_answer("The  Shanghai Cooperation Organisation!") == "shanghai cooperation organisation"
    assert normalize_answer("an Apple, a pear") == "apple pear"


def test_exact_match_and_f1():
    assert exact_match("the SCO", "SCO.") == 1.0
    assert f1_score("Rashid Alimov", "SCO Secretary-General Rashid Alimov") == 2 * (1 * 2 / 4) / (1 + 2 / 4)
    assert f1_score("", "") == 1.0 and f1_score("x", "") == 0.0 and f1_score("Astana", "Geneva") == 0.0
