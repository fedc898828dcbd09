"""Bad command lines get one clear line and exit status 2, never a traceback."""
import pytest

from lowtf.cli import main


@pytest.mark.parametrize("argv,says", [
    (["bench", "--steps", "0"], "--steps: must be at least 1, got 0"),
    (["bench", "--to-accuracy", "2"], "an accuracy must be more than 0 and at most 1"),
    (["cluster", "local", "--workers", "-3", "--", "true"], "--workers: must be at least 1, got -3"),
    (["cluster", "local", "--ports", "99999", "1", "--", "true"], "a TCP port is 1..65535, got 99999"),
    (["cluster", "local", "--timeout", "0", "--", "true"], "a number of seconds must be more than 0"),
    (["serve", "--model_base_path", "m", "--model_name", "m", "--max_body_bytes", "-1"], "must be at least 1"),
    (["serve", "--model_base_path", "m", "--model_name", "m", "--port", "99999"], "a TCP port is 1..65535"),
    (["serve", "--model_base_path", "m", "--tensorflow_intra_op_parallelism", "-1"], "must be at least 0"),
    (["tour", "--first", "50"], "no lessons between --first 50 and --last 6"),
    (["cluster", "local", "--", "/nonexistent/cmd"], "cannot run '/nonexistent/cmd': no such program"),
    (["lesson", "99"], "no lesson 99"),
    (["check", "99"], "no exercise 99"),
    (["exercise", "01", "--workspace", "FILE"], "--workspace FILE is a file (or lies under one)"),
    (["exercise", "01", "--workspace", "/proc/lowtf-practice"], "cannot write to --workspace /proc/lowtf-practice"),
    (["notebook", "07", "--out", "FILE"], "--out FILE is a file"),
    (["bench", "--out", "FILE/throughput.json"], "--out's folder FILE is a file"),   # refused before measuring
])
def test_bad_command_lines(argv, says, capsys, tmp_path):
    (tmp_path / "a-file").write_text("")
    argv = [a.replace("FILE", str(tmp_path / "a-file")) for a in argv]
    says = says.replace("FILE", str(tmp_path / "a-file"))
    try:
        code = main(argv)
    except SystemExit as e:   # argparse's own errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and says in err and "Traceback" not in err


def test_a_data_folder_that_is_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    """LOWTF_DATA_DIR/mnist is a file: lesson 07 stops with the problem and the fix, not a traceback."""
    (tmp_path / "mnist").write_text("not a folder")
    monkeypatch.setenv("LOWTF_DATA_DIR", str(tmp_path))
    assert main(["lesson", "07", "--fast", "--logdir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "is a file where the MNIST folder belongs" in err and "Traceback" not in err


def test_a_damaged_manifest_line_means_rewrite_not_crash(tmp_path):
    from lowtf.data import image_folder

    root = tmp_path / "png"
    root.mkdir()
    lines = ["0" * 32 + "  train/x.png"] * (10 * (image_folder.TRAIN_PER_CLASS + image_folder.TEST_PER_CLASS))
    (root / image_folder.MANIFEST).write_text("\n".join(["garbage"] + lines) + "\n")
    assert "manifest line 1 is damaged" in image_folder.problem(root)
    (root / image_folder.MANIFEST).write_bytes(b"\xff\xfe" * 100)
    assert "damaged" in image_folder.problem(root)


def test_verdicts_follow_from_their_numbers():
    """A difference under two standard errors is no difference; over it, the better one is named."""
    from lowtf.verdicts import NO_DIFFERENCE, accuracies, follows

    close = accuracies("a vs b", 0.800, 0.790, 1000, names=("a", "b"))      # SE of the difference ~0.018
    assert close.verdict.startswith(NO_DIFFERENCE) and follows(close.as_dict())
    apart = accuracies("a vs b", 0.70, 0.80, 2000, names=("a", "b"))
    assert apart.verdict.startswith("b ahead of a") and follows(apart.as_dict())
    assert not follows({**apart.as_dict(), "verdict": close.verdict})      # a wrong reading is caught


def test_several_processes_may_check_one_new_folder_at_once(tmp_path):
    """A cluster's tasks all check --logdir as they start: a shared probe file made one of them fail."""
    from concurrent.futures import ThreadPoolExecutor

    from lowtf.folders import make_folder

    for round_ in range(20):
        folder = tmp_path / f"run{round_}"
        with ThreadPoolExecutor(8) as pool:
            made = list(pool.map(lambda _: make_folder(folder, "--logdir"), range(16)))
        assert made == [folder] * 16 and list(folder.iterdir()) == []
