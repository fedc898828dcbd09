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
    (["tour", "--first", "50"], "no lessons between --first 50 and --last 6"),
    (["cluster", "local", "--", "/nonexistent/cmd"], "cannot run '/nonexistent/cmd': no such program"),
    (["lesson", "99"], "no lesson 99"),
    (["check", "99"], "no exercise 99"),
])
def test_bad_command_lines(argv, says, capsys):
    try:
        code = main(argv)
    except SystemExit as e:   # argparse's own errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and says in err and "Traceback" not in err
