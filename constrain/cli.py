"""The `constrain` command line."""

from __future__ import annotations

import argparse
import sys

from constrain.errors import ConstrainError


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-m", "--model", default=None, help="GGUF file (default: SmolLM2-135M-Instruct)")
    p.add_argument("-c", "--ctx", type=int, default=2048, help="context window in tokens")
    p.add_argument("-t", "--threads", type=int, default=None, help="CPU threads (default: all)")


def _load(args: argparse.Namespace):
    from constrain import Llama

    return Llama(args.model, n_ctx=args.ctx, n_threads=args.threads)


def cmd_run(args: argparse.Namespace) -> int:
    llm = _load(args)
    stream = llm.create_completion(args.prompt, max_tokens=args.n, temperature=0.0, stream=True)
    out = sys.stdout
    out.write(args.prompt)
    for chunk in stream:
        out.write(chunk["choices"][0]["text"])
        out.flush()
    out.write("\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="constrain", description="Local LLaMA-family models whose output follows a grammar.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="complete a prompt")
    _add_model_args(run)
    run.add_argument("-p", "--prompt", required=True)
    run.add_argument("-n", "--n", type=int, default=64, help="tokens to generate")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConstrainError as e:
        print(f"constrain: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
