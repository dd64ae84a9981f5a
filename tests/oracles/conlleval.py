"""conlleval.pl, the CoNLL shared tasks' scorer, ported statement by statement: the oracle
that :func:`nerwin.scoring.score` is checked against."""

import re


def _chunk_start(prev_tag, tag, prev_type, type_):
    start = (prev_tag, tag) in {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"), ("E", "I"), ("O", "E")}
    return start or (tag not in ("O", ".") and prev_type != type_) or tag in ("[", "]")


def _chunk_end(prev_tag, tag, prev_type, type_):
    end = (prev_tag, tag) in {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"), ("E", "I"), ("E", "O")}
    return end or (prev_tag not in ("O", ".") and prev_type != type_) or prev_tag in ("]", "[")


def _split_tag(tag):
    m = re.match(r"^([^-]*)-(.*)$", tag)
    return (m.group(1), m.group(2)) if m else (tag, "")


def conlleval_port(text):
    """conlleval.pl's main loop and report, statement by statement (startOfChunk,
    endOfChunk, the inCorrect flag, blank lines read as an ``-X- O O`` boundary token)."""
    correct_chunk = found_correct = found_guessed = correct_tags = tokens = 0
    cc, fc, fg = {}, {}, {}
    last_c, last_ct, last_g, last_gt = "O", "", "O", ""
    in_correct = False
    for line in text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"):
        features = line.split() or ["-X-", "O", "O"]
        guessed, guessed_t = _split_tag(features[-1])
        correct, correct_t = _split_tag(features[-2])
        boundary = features[0] == "-X-"
        if boundary:
            guessed = "O"
        if in_correct:
            ec, eg = _chunk_end(last_c, correct, last_ct, correct_t), _chunk_end(last_g, guessed, last_gt, guessed_t)
            if ec and eg and last_gt == last_ct:
                in_correct = False
                correct_chunk += 1
                cc[last_ct] = cc.get(last_ct, 0) + 1
            elif ec != eg or guessed_t != correct_t:
                in_correct = False
        sc, sg = _chunk_start(last_c, correct, last_ct, correct_t), _chunk_start(last_g, guessed, last_gt, guessed_t)
        if sc and sg and guessed_t == correct_t:
            in_correct = True
        if sc:
            found_correct += 1
            fc[correct_t] = fc.get(correct_t, 0) + 1
        if sg:
            found_guessed += 1
            fg[guessed_t] = fg.get(guessed_t, 0) + 1
        if not boundary:
            correct_tags += correct == guessed and guessed_t == correct_t
            tokens += 1
        last_g, last_c, last_gt, last_ct = guessed, correct, guessed_t, correct_t
    if in_correct:
        correct_chunk += 1
        cc[last_ct] = cc.get(last_ct, 0) + 1

    p = 100 * correct_chunk / found_guessed if found_guessed > 0 else 0.0
    r = 100 * correct_chunk / found_correct if found_correct > 0 else 0.0
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    out = [f"processed {tokens} tokens with {found_correct} phrases; found: {found_guessed} phrases; "
           f"correct: {correct_chunk}."]
    if tokens > 0:
        out.append(f"accuracy: {100 * correct_tags / tokens:6.2f}%; precision: {p:6.2f}%; "
                   f"recall: {r:6.2f}%; FB1: {f:6.2f}")
    for t in sorted(set(fc) | set(fg)):
        p = 100 * cc.get(t, 0) / fg[t] if fg.get(t) else 0.0
        r = 100 * cc.get(t, 0) / fc[t] if fc.get(t) else 0.0
        f = 0.0 if p + r == 0 else 2 * p * r / (p + r)
        out.append(f"{t:>17}: precision: {p:6.2f}%; recall: {r:6.2f}%; FB1: {f:6.2f}  {fg.get(t, 0)}")
    return "\n".join(out) + "\n"
