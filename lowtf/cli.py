"""The ``lowtf`` command: data, lessons, the main job, and (as they land) serve, bench, cluster.

Subcommands import TensorFlow only when they need it, so ``lowtf lessons`` is instant.
"""
from __future__ import annotations

import argparse
import sys
import time

from lowtf.catalog import NoLessonsError
from lowtf.errors import CourseError

# lowtf serve's Session threads per model (TF Serving's --tensorflow_*_op_parallelism; its default is 0,
# one per core). One each: `python -m lowtf.bench.serving` found it within a few percent of the default
# here, either way; the Xeon measured it ahead, far ahead under load (README, "How fast").
INTRA_OP_DEFAULT, INTER_OP_DEFAULT = 1, 1


def _data_fetch(args: argparse.Namespace) -> int:
    from lowtf.data import fashion_mnist, mnist
    from lowtf.data.store import DataError

    try:
        paths = mnist.fetch()
        print(f"MNIST: {len(paths)} files verified in {mnist.folder()}")
        if args.fashion:
            paths = fashion_mnist.fetch()
            print(f"Fashion-MNIST: {len(paths)} files verified in {fashion_mnist.folder()}")
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def _lessons(args: argparse.Namespace) -> int:
    import shutil
    import textwrap

    from lowtf.catalog import COURSE, describe, find_lessons

    lessons = find_lessons()
    width = min(shutil.get_terminal_size().columns - 1, 100)
    print("In the order to take them (numbered in the order they were written):")
    for part, numbers in COURSE:
        print(f"\n{part}")
        for number in (n for n in numbers if n in lessons):
            print(textwrap.fill(describe(lessons[number]), width, initial_indent=f"  {number}  ",
                                subsequent_indent=" " * 6))
    print("\nRun one: lowtf lesson NN [--step] [--fast] [--quiet] [--logdir DIR]")
    return 0


def _pick(catalog: dict, number: str, what: str, lister: str):
    """``catalog[NN]`` for a number as typed (``7`` or ``07``), or None after saying what exists."""
    found = catalog.get(number.zfill(2))
    if found is None:
        print(f"error: no {what} {number}; `{lister}` lists them", file=sys.stderr)
    return found


def _lesson(args: argparse.Namespace) -> int:
    from lowtf.catalog import find_lessons, load_lesson

    path = _pick(find_lessons(), args.number, "lesson", "lowtf lessons")
    return 2 if path is None else load_lesson(path).main(args.rest)


def _isolate_server_lesson(args: argparse.Namespace) -> None:
    """A lesson that starts TensorFlow servers re-runs itself in a private network namespace before
    TensorFlow is loaded (Lesson.main would do it too, after paying for a second import)."""
    from lowtf.catalog import find_lessons, wants_private_network

    path = find_lessons().get(args.number)
    if path is not None and wants_private_network(path) and "--expose-tf-server" not in args.rest \
            and not any(a in ("-h", "--help") for a in args.rest):
        from lowtf.distributed.sandbox import enter_private_network

        enter_private_network(expose=False)


def _tour(args: argparse.Namespace) -> int:
    """Run lessons first..last one after another, each on its own fresh graph."""
    import subprocess

    from lowtf.catalog import find_lessons, load_lesson, needs_own_process

    lessons = find_lessons()
    chosen = [(n, p) for n, p in lessons.items() if args.first <= int(n) <= args.last]
    if not chosen:
        print(f"error: no lessons between --first {args.first} and --last {args.last}; "
              f"the lessons are numbered {min(lessons)}-{max(lessons)} (`lowtf lessons` lists them)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        for number, path in chosen:
            if needs_own_process(path):   # servers in a private network, or Keras in eager mode
                code = subprocess.run([sys.executable, "-m", "lowtf", "lesson", number]
                                      + (["--fast"] if args.fast else [])
                                      + (["--quiet"] if args.quiet else [])).returncode
                if code != 0:
                    return code
            else:
                load_lesson(path).run(fast=args.fast, quiet=args.quiet)
            print()
    except KeyboardInterrupt:
        return 130
    print(f"Tour of lessons {chosen[0][0]}-{chosen[-1][0]} done in {time.perf_counter() - started:.1f} s.")
    print("See one lesson's run: .venv/bin/tensorboard --logdir runs/NN_name --host 127.0.0.1, then open "
          "http://127.0.0.1:6006/#scalars&_smoothingWeight=0 (unsmoothed)")
    return 0


def _flagship(args: argparse.Namespace) -> int:
    """LeNet-5 on MNIST with summaries, checkpoints and the filter GIF: lesson 10, full run."""
    from lowtf.catalog import find_lessons, load_lesson

    try:
        summary = load_lesson(find_lessons()["10"]).run(fast=False, logdir=args.logdir, resume=args.resume)
    except KeyboardInterrupt:
        return 130
    print(f"\nLeNet-5 test accuracy {summary['test_accuracy']:.4f} after {summary['steps']} steps; "
          f"{summary['train_seconds']:.0f} s training ({summary['images_per_second']} img/s), "
          f"{summary['seconds']:.0f} s for the whole lesson.")
    print(f"Filter GIFs: {summary['gifs']['conv1']}, {summary['gifs']['conv2']}")
    print(f"TensorBoard: .venv/bin/tensorboard --logdir {args.logdir} --host 127.0.0.1, then open "
          "http://127.0.0.1:6006/#scalars&_smoothingWeight=0 (unsmoothed)")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lowtf.ports import cannot_listen
    from lowtf.serve.names import name_problem

    # Flags that need no TensorFlow are checked before it loads (a few seconds).
    if args.model_config_file and args.model_base_path:
        print("error: give --model_config_file or --model_base_path, not both (the config file names each "
              "model's base path)", file=sys.stderr)
        return 2
    if not args.model_config_file and not args.model_base_path:
        print("error: say what to serve: --model_base_path=DIR (with --model_name) or --model_config_file=FILE",
              file=sys.stderr)
        return 2
    if not args.host.strip():
        print("error: --host is empty (an unset $HOST?); give the address to listen on, e.g. 127.0.0.1 "
              "(0.0.0.0 for every interface, if that is what you mean)", file=sys.stderr)
        return 2
    if args.model_base_path and name_problem(args.model_name):
        print(f"error: --model_name: {name_problem(args.model_name)}", file=sys.stderr)
        return 2
    if args.batching_parameters_file and not args.enable_batching:
        print("error: --batching_parameters_file needs --enable_batching", file=sys.stderr)
        return 2
    if args.model_base_path and not Path(args.model_base_path).is_dir():
        print(f"error: model base path {args.model_base_path} of model {args.model_name} does not exist; "
              "give the folder that holds the numbered version folders", file=sys.stderr)
        return 2
    for port, flag in ((args.rest_api_port, "--rest_api_port"), (args.port, "--port")):
        problem = cannot_listen(args.host, port) if port is not None else ""
        if problem:
            print(f"error: cannot listen on {args.host}:{port}: {problem}; choose another {flag}", file=sys.stderr)
            return 2
    from lowtf.serve.limits import grpc_channel_arguments
    from lowtf.serve.metrics import read_monitoring_config

    grpc_channel_arguments(args.grpc_channel_arguments)      # CourseErrors, named for the flag
    metrics_path = read_monitoring_config(args.monitoring_config_file) if args.monitoring_config_file else None
    from lowtf import console

    console.load_tensorflow()
    from lowtf.serve.core.servable import Batching, ServingOptions
    from lowtf.serve.core.version_policy import VersionPolicy
    from lowtf.serve.limits import FrontOptions
    from lowtf.serve.main import serve
    from lowtf.serve.model_config import ModelConfig, read_batching_parameters, read_model_config

    if args.model_config_file:
        configs = read_model_config(args.model_config_file)
    else:
        configs = [ModelConfig(args.model_name, Path(args.model_base_path), VersionPolicy())]
    batching = None
    if args.enable_batching:
        batching = Batching()
        if args.batching_parameters_file:
            batching, ignored = read_batching_parameters(args.batching_parameters_file)
            if ignored:
                print(f"lowtf serve: batching fields not used here: {', '.join(ignored)}", file=sys.stderr)
    options = ServingOptions(args.tensorflow_intra_op_parallelism, args.tensorflow_inter_op_parallelism, batching,
                             warmup=args.enable_model_warmup)
    fronts = FrontOptions(args.rest_api_num_threads, args.grpc_max_threads, args.grpc_channel_arguments,
                          metrics_path, args.grpc_server)
    return serve(configs, args.rest_api_port, args.host, args.max_body_bytes, args.file_system_poll_wait_seconds,
                 grpc_port=args.port, timeout_ms=args.rest_api_timeout_in_ms, options=options, fronts=fronts)


def _bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lowtf.folders import make_folder

    make_folder(Path(args.out).parent, "--out's folder")   # before minutes of measuring, not after
    from lowtf.host import this_host

    host = this_host()
    print(host.line(), flush=True)
    if args.precision == "bfloat16" and not host.bfloat16_trains:   # never trained on Eigen's fallback
        print("bfloat16 left out: it needs AVX-512 here (lesson 27 times the fallback); float32 only",
              flush=True)
        args.precision = "float32"
    if args.profile:
        from lowtf.bench.profile import print_profile, profile_lenet5

        make_folder(Path(args.profile), "--profile's folder")
        print_profile(profile_lenet5(Path(args.profile), batch=args.batch[-1]), Path(args.profile))
        return 0
    if args.to_accuracy is not None:
        from lowtf.bench.time_to_accuracy import measure_time_to_accuracy

        precisions = ("float32",) if args.precision == "float32" else ("float32", args.precision)
        result = measure_time_to_accuracy(target=args.to_accuracy, precisions=precisions,
                                          out=Path(args.out.replace("throughput", "time_to_accuracy")))
        return 0 if result["reached"] else 1
    from lowtf.bench.throughput import measure_throughput

    precisions = ("float32",) if args.precision == "float32" else ("float32", args.precision)
    measure_throughput(batches=tuple(args.batch), steps=args.steps, rounds=args.rounds, out=Path(args.out),
                       precisions=precisions)
    return 0


def _cluster_local(args: argparse.Namespace) -> int:
    import shutil

    from lowtf.distributed.launcher import run_cluster

    command = args.command_line[1:] if args.command_line[:1] == ["--"] else args.command_line
    if not command:
        print("error: give the command each task runs after --, e.g. "
              "lowtf cluster local --ps 1 --workers 2 -- python -m lowtf.distributed.mnist_task --logdir runs/15",
              file=sys.stderr)
        return 2
    if shutil.which(command[0]) is None:
        print(f"error: cannot run {command[0]!r}: no such program (or not executable); "
              "check the command after --", file=sys.stderr)
        return 2
    if args.tf1_flags:
        from lowtf.distributed.launcher import TF1_FLAGS

        command = [*command, *TF1_FLAGS]
    return run_cluster(args.ps, args.workers, command, ports=args.ports, timeout=args.timeout,
                       expose=args.expose_tf_servers)


def _cluster_config(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from lowtf.distributed.deploy import tf_configs

    cluster = {job: getattr(args, job) for job in ("chief", "ps", "worker") if getattr(args, job)}
    if "worker" not in cluster:
        print("error: give at least one --worker HOST:PORT", file=sys.stderr)
        return 2
    configs = tf_configs(cluster)
    if not args.out:
        for task, text in configs.items():
            print(f"{task}: TF_CONFIG='{text}'")
        return 0
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    for task, text in configs.items():
        (folder / f"{task}.tf_config.json").write_text(json.dumps(json.loads(text), indent=2) + "\n")
    print(f"wrote {len(configs)} TF_CONFIGs to {folder}/ (set each host's TF_CONFIG to its file's contents)")
    return 0


def _cluster_kubernetes(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lowtf.distributed.deploy import kubernetes_manifest, manifest_text

    command = args.command_line[1:] if args.command_line[:1] == ["--"] else args.command_line
    if not command:
        print("error: give the command every Pod runs after --, e.g. "
              "-- python -m lowtf.distributed.mirrored_task --logdir /tmp/run", file=sys.stderr)
        return 2
    counts = {"chief": int(args.chief), "ps": args.ps, "worker": args.workers}
    text = manifest_text(kubernetes_manifest(counts, args.image, command, args.name, args.port))
    if not args.out:
        print(text, end="")
        return 0
    Path(args.out).write_text(text)
    print(f"wrote {args.out}: apply it with kubectl apply -f {args.out}")
    return 0


def _run(args: argparse.Namespace) -> int:
    """An old TF 1.x script, unedited: this process becomes ``python -m lowtf.legacy`` (see lowtf/legacy/)."""
    import os
    from pathlib import Path

    if not Path(args.script).is_file():
        print(f"error: no script {args.script}; give the path of the TF 1.x .py file to run", file=sys.stderr)
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "lowtf.legacy", *(["--verbose"] if args.verbose else []),
                              args.script, *args.args])


def _true_or_false(text: str) -> bool:
    """An argparse type for TF Serving's boolean flags: --flag=true or --flag=false."""
    value = {"true": True, "1": True, "false": False, "0": False}.get(text.strip().lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value


def _at_least(low: int):
    """An argparse type: an integer >= ``low``, with a message naming the bound."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    return parse


def _port(text: str) -> int:
    value = _at_least(1)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 1..65535, got {value}")
    return value


def _exercise(args: argparse.Namespace) -> int:
    from lowtf.folders import make_folder
    from lowtf.practice.exercises import copy_template, find_exercises

    exercises = find_exercises()
    if args.number is None:
        for number, exercise in exercises.items():
            print(f"{number}  {exercise.title}")
        print("\nStart one: lowtf exercise NN   then check it: lowtf check NN")
        return 0
    exercise = _pick(exercises, args.number, "exercise", "lowtf exercise")
    if exercise is None:
        return 2
    number = exercise.number
    path, copied = copy_template(exercise, make_folder(args.workspace, "--workspace"))
    print(f"{'Copied the exercise to' if copied else 'Your file is already there, kept as it is:'} {path}")
    if args.notebook:
        from lowtf.practice.notebooks import exercise_notebook, write

        notebook = write(exercise_notebook(path, number), path.with_suffix(".ipynb"))
        print(f"Notebook: {notebook}")
    check = f"lowtf check {number}" + (f" --workspace {args.workspace}" if args.workspace != "practice" else "")
    print(f"Task: {exercise.title}. Open the file, complete the functions marked TODO, then: {check}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lowtf.practice.exercises import find_exercises, report, run_checks_in_a_process

    exercise = _pick(find_exercises(), args.number, "exercise", "lowtf exercise")
    if exercise is None:
        return 2
    number = exercise.number
    file = Path(args.file) if args.file else Path(args.workspace) / exercise.template.name
    if not file.is_file():
        print(f"error: no file {file}; start the exercise with `lowtf exercise {number}` "
              "(or point --file at your copy)", file=sys.stderr)
        return 2
    if file.suffix != ".py":
        print(f"error: {file} is not a Python file: the checks import your code, so give the .py file "
              f"(`lowtf exercise {number}` wrote {exercise.template.name})", file=sys.stderr)
        return 2
    results = run_checks_in_a_process(exercise, file, include_slow=not args.quick, show_hints=args.hint)
    return 0 if report(exercise, results) else 1


def _notebook(args: argparse.Namespace) -> int:
    from lowtf.catalog import find_lessons
    from lowtf.folders import make_folder
    from lowtf.practice.notebooks import lesson_notebook, write

    lessons = find_lessons()
    chosen = list(lessons) if args.which == "all" else [args.which.zfill(2)]
    unknown = [n for n in chosen if n not in lessons]
    if unknown:
        print(f"error: no lesson {unknown[0]}; `lowtf lessons` lists them", file=sys.stderr)
        return 2
    out = make_folder(args.out, "--out")
    for number in chosen:
        path = write(lesson_notebook(lessons[number], fast=args.fast), out / f"{lessons[number].stem}.ipynb")
        print(path)
    print(f"Open with: jupyter lab {args.out}   (pip install jupyterlab)")
    return 0


def _number_above(low: float, high: float, what: str):
    """An argparse type: a number in (low, high], named ``what`` in its message."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not low < value <= high:
            bound = f"more than {low:g}" + (f" and at most {high:g}" if high != float("inf") else "")
            raise argparse.ArgumentTypeError(f"{what} must be {bound}, got {value:g}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lowtf", description="Learn TensorFlow the low-level way.")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="datasets").add_subparsers(dest="action", required=True)
    fetch = data.add_parser("fetch", help="fetch and verify MNIST (and Fashion-MNIST with --fashion)")
    fetch.add_argument("--fashion", action="store_true", help="also fetch Fashion-MNIST from Debian")
    fetch.set_defaults(func=_data_fetch)

    sub.add_parser("lessons", help="list the lessons").set_defaults(func=_lessons)

    one = sub.add_parser("lesson", help="run one lesson: lowtf lesson NN [--step] [--fast] [--quiet] [--logdir DIR]")
    one.add_argument("number")
    one.add_argument("rest", nargs=argparse.REMAINDER, help="passed to the lesson")
    one.set_defaults(func=_lesson)

    tour = sub.add_parser("tour", help="run a range of lessons in order")
    tour.add_argument("--first", type=_at_least(0), default=0)
    tour.add_argument("--last", type=_at_least(0), default=6)
    tour.add_argument("--fast", action="store_true")
    tour.add_argument("--quiet", action="store_true", help="numbers only: no explanations")
    tour.set_defaults(func=_tour)

    main_job = sub.add_parser("main", help="the flagship: LeNet-5 on MNIST (lesson 10 in full)")
    main_job.add_argument("--logdir", default="runs/flagship")
    main_job.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    main_job.set_defaults(func=_flagship)

    srv = sub.add_parser("serve", help="serve SavedModels over TF Serving's REST API")
    srv.add_argument("--model_base_path", help="folder with version folders 1/, 2/, ...; the newest is served")
    srv.add_argument("--model_name", default="default", help="the name in the URL (default: default, as TF Serving)")
    srv.add_argument("--model_config_file", help="several models, in TF Serving's text format: model_config_list { "
                     "config { name: 'a' base_path: '/models/a' model_version_policy { all {} } } config { ... } }")
    srv.add_argument("--file_system_poll_wait_seconds", type=_at_least(0), default=1,
                     help="how often to look for new versions (default 1; 0: only at start)")
    srv.add_argument("--enable_batching", action="store_true",
                     help="merge concurrent requests into one model run (up to 32 examples, batches on half "
                          "the CPUs, or as the file says)")
    srv.add_argument("--batching_parameters_file", help="TF Serving's batching parameters: max_batch_size { value: N } "
                     "batch_timeout_micros { value: N } and num_batch_threads { value: N } are used")
    srv.add_argument("--tensorflow_intra_op_parallelism", type=_at_least(0), default=INTRA_OP_DEFAULT,
                     help="threads one op may use in each model's Session, as in TF Serving (0: one per core; "
                          f"default {INTRA_OP_DEFAULT}, measured best for small requests from several clients)")
    srv.add_argument("--tensorflow_inter_op_parallelism", type=_at_least(0), default=INTER_OP_DEFAULT,
                     help=f"ops run at once in each model's Session (0: one per core; default {INTER_OP_DEFAULT})")
    srv.add_argument("--rest_api_timeout_in_ms", type=_at_least(0), default=30000,
                     help="a REST request still running after this long gets 504 (default 30000; 0: no limit)")
    srv.add_argument("--rest_api_port", type=_port, default=8501, help="the REST API's port (default 8501)")
    srv.add_argument("--port", type=_port, default=None,
                     help="the gRPC API's port, as in TF Serving (TF Serving always opens it, on 8500 by default; "
                          "lowtf serve opens it when this is given)")
    srv.add_argument("--rest_api_num_threads", type=_at_least(1), default=None,
                     help="REST requests handled at once, as in TF Serving (default 4 per CPU; with batching "
                          "at least twice max_batch_size)")
    srv.add_argument("--grpc_max_threads", type=_at_least(1), default=None,
                     help="gRPC worker threads, as in TF Serving (default 4 per CPU; with batching at least "
                          "twice max_batch_size)")
    srv.add_argument("--grpc_channel_arguments", default="",
                     help="gRPC server arguments key=value,... as in TF Serving, e.g. "
                          "grpc.max_receive_message_length=134217728 (lowtf's default maximum: 64 MiB)")
    srv.add_argument("--grpc_server", choices=["threads", "aio"], default="threads",
                     help="lowtf's choice of gRPC server: grpcio's thread pool (default) or grpc.aio "
                          "(measured against each other by python -m lowtf.bench.serving)")
    srv.add_argument("--enable_model_warmup", type=_true_or_false, default=True, metavar="true|false",
                     help="replay assets.extra/tf_serving_warmup_requests when a version loads (default true)")
    srv.add_argument("--monitoring_config_file", help="TF Serving's monitoring config: prometheus_config { "
                     "enable: true path: '/monitoring/prometheus/metrics' } serves metrics on the REST port")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    srv.add_argument("--max_body_bytes", type=_at_least(1), default=16 * 1024 * 1024)
    srv.set_defaults(func=_serve)

    bench = sub.add_parser("bench", help="LeNet-5 training throughput: lowtf vs raw graph vs Keras (vs PyTorch)")
    bench.add_argument("--batch", type=_at_least(1), nargs="+", default=[50, 128])
    bench.add_argument("--steps", type=_at_least(1), default=40)
    bench.add_argument("--rounds", type=_at_least(1), default=3)
    bench.add_argument("--out", default="runs/bench/throughput.json")
    bench.add_argument("--profile", metavar="DIR", help="instead: profile 20 training steps of LeNet-5 into DIR "
                                                        "(TensorBoard's PROFILE dashboard) and print the time by op type")
    bench.add_argument("--to-accuracy", type=_number_above(0, 1, "an accuracy"), default=None, metavar="ACC",
                       help="instead: time LeNet-5 (lesson 10's recipe) until the test accuracy reaches ACC")
    bench.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                       help="bfloat16: measure the trainer in bfloat16 too, beside float32, in the same run")
    bench.set_defaults(func=_bench)

    exercise = sub.add_parser("exercise", help="copy an exercise into your workspace (no number: list them)")
    exercise.add_argument("number", nargs="?")
    exercise.add_argument("--workspace", default="practice", help="where your copies live (default practice/)")
    exercise.add_argument("--notebook", action="store_true", help="also write it as a notebook beside your copy")
    exercise.set_defaults(func=_exercise)

    checker = sub.add_parser("check", help="check your exercise: lowtf check NN")
    checker.add_argument("number")
    checker.add_argument("--workspace", default="practice")
    checker.add_argument("--file", default=None, help="the file to check (default: your copy in the workspace)")
    checker.add_argument("--quick", action="store_true", help="leave out the checks that train for a minute")
    checker.add_argument("--hint", action="store_true", help="show each failing check's worked hint too")
    checker.set_defaults(func=_check)

    notebook = sub.add_parser("notebook", help="write a lesson (or all) as a Jupyter notebook")
    notebook.add_argument("which", help="a lesson number, or all")
    notebook.add_argument("--out", default="notebooks", help="folder for the .ipynb files (default notebooks/)")
    notebook.add_argument("--fast", action="store_true", help="the smaller work the tests run")
    notebook.set_defaults(func=_notebook)

    run = sub.add_parser("run", help="run a TF 1.x script unedited: lowtf run [--verbose] SCRIPT [ARGS]")
    run.add_argument("--verbose", action="store_true", help="show everything TensorFlow prints")
    run.add_argument("script", help="the TF 1.x .py file")
    run.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    run.set_defaults(func=_run)

    cluster = sub.add_parser("cluster", help="distributed runs").add_subparsers(dest="action", required=True)
    local = cluster.add_parser("local", help="every task as its own process on 127.0.0.1: "
                                             "lowtf cluster local --ps 1 --workers 2 -- CMD ...")
    local.add_argument("--ps", type=_at_least(0), default=1)
    local.add_argument("--workers", type=_at_least(1), default=2)
    local.add_argument("--ports", type=_port, nargs="+", help="ps ports then worker ports (default: free ones)")
    local.add_argument("--timeout", type=_number_above(0, float("inf"), "a number of seconds"), default=None, help="stop everything after this many seconds")
    local.add_argument("--expose-tf-servers", action="store_true",
                       help="where no private network namespace can be made: run anyway, with TensorFlow servers "
                            "that any machine on your network can use")
    local.add_argument("--tf1-flags", action="store_true",
                       help="give each task its role as TF 1.x scripts take it (mnist_replica.py): "
                            "--job_name --task_index --ps_hosts --worker_hosts; the words {job_name} {task_index} "
                            "{ps_hosts} {worker_hosts} in the command are filled in per task anyway")
    local.add_argument("command_line", nargs=argparse.REMAINDER)
    local.set_defaults(func=_cluster_local)
    config = cluster.add_parser("config", help="the TF_CONFIG of every task, for a list of hosts: "
                                               "lowtf cluster config --worker h1:2222 --worker h2:2222")
    for job in ("chief", "ps", "worker"):
        config.add_argument(f"--{job}", action="append", default=[], metavar="HOST:PORT",
                            help=f"a {job} task's address (repeat for more)")
    config.add_argument("--out", help="write TASK.tf_config.json files to this folder (default: print them)")
    config.set_defaults(func=_cluster_config)
    kube = cluster.add_parser("kubernetes", help="a Kubernetes manifest (a headless Service, a Pod per task with its "
                                                 "TF_CONFIG): lowtf cluster kubernetes --workers 2 --image IMG -- CMD")
    kube.add_argument("--workers", type=_at_least(1), default=2)
    kube.add_argument("--ps", type=_at_least(0), default=0)
    kube.add_argument("--chief", action="store_true", help="add a chief (ParameterServerStrategy's coordinator)")
    kube.add_argument("--image", required=True, help="the container image that holds the program")
    kube.add_argument("--name", default="lowtf", help="the Service's name, and the Pods' prefix")
    kube.add_argument("--port", type=_port, default=2222)
    kube.add_argument("--out", help="write the manifest here (default: print it)")
    kube.add_argument("command_line", nargs=argparse.REMAINDER)
    kube.set_defaults(func=_cluster_kubernetes)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "lesson" and argv is None:
        try:
            _isolate_server_lesson(args)
        except NoLessonsError:
            pass   # _lesson says so
    # (not `check`: its checks run in a child process, which loads TensorFlow itself)
    if args.command in ("lesson", "tour", "main", "bench", "notebook"):
        from lowtf import console

        # before anything imports TensorFlow: a quiet console (Keras loads when a lesson imports it)
        console.load_tensorflow(keras_eagerly=args.command == "bench")
    if args.command in ("tour", "main"):
        from lowtf.lesson import stop_on_termination

        stop_on_termination()   # SIGTERM and SIGHUP stop a long run as Ctrl-C does, cleanups included
    try:
        return args.func(args) or 0
    except CourseError as e:     # the one place the command line turns a fixable error into a line
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except BaseException as e:
        # lowtf.lesson.signals.Terminated (SIGTERM, SIGHUP), not imported here: that package loads TensorFlow
        if hasattr(e, "signum") and not isinstance(e, Exception):
            return 128 + e.signum
        raise


if __name__ == "__main__":
    sys.exit(main())
