"""The tiny offline BERT: the same vocabulary and weights on every build, a real (not 5-token) tokenizer."""

import subprocess
import sys
from pathlib import Path

from safetensors.numpy import load_file

from indoevent.model.tiny import build_tiny_bert

ROOT = Path(__file__).resolve().parents[1]
CODE = ("import glob, hashlib; from indoevent.model.tiny import train_wordpiece; "
        "t = [open(f, encoding='utf-8').read() for f in sorted(glob.glob('seeds/*.txt'))]; "
        "print(hashlib.sha256('\\n'.join(train_wordpiece(t)).encode()).hexdigest())")


def test_vocabulary_is_the_same_in_every_process():
    # Separate processes: hash-map seeds differ between processes, not within one.
    runs = {subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout for _ in range(3)}
    assert len(runs) == 1


def test_build_is_reproducible(tmp_path):
    a = build_tiny_bert(tmp_path / "a", ROOT / "seeds", seed=3)
    b = build_tiny_bert(tmp_path / "b", ROOT / "seeds", seed=3)
    assert (a / "vocab.txt").read_bytes() == (b / "vocab.txt").read_bytes()
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa)

    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(a)
    assert len(tok) == len((a / "vocab.txt").read_text(encoding="utf-8").split("\n")) - 1 == 2000
    assert tok.model_max_length == 512
    ids = tok("Presiden Rusia Vladimir Putin bertemu Kim Jong Un", add_special_tokens=False)["input_ids"]
    assert tok.unk_token_id not in ids
