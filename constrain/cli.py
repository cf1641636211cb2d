"""The `constrain` command line: run, chat, classify, extract, grammar check."""

from __future__ import annotations

import argparse
import json
import sys

from constrain.errors import ConstrainError

SAMPLERS = ("greedy", "mirostat", "mirostat1", "dist")


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-m", "--model", default=None, help="GGUF file (default: SmolLM2-135M-Instruct)")
    p.add_argument("-c", "--ctx", type=int, default=2048, help="context window in tokens")
    p.add_argument("-t", "--threads", type=int, default=None, help="CPU threads (default: all)")


def _add_sampling_args(p: argparse.ArgumentParser, default_sampler: str) -> None:
    p.add_argument("--sampler", choices=SAMPLERS, default=default_sampler,
                   help=f"how the next token is picked (default: {default_sampler})")
    p.add_argument("--temp", type=float, default=0.8, help="temperature (0 = greedy)")
    p.add_argument("--top-k", type=int, default=40)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--min-p", type=float, default=0.05)
    p.add_argument("--mirostat-tau", type=float, default=5.0)
    p.add_argument("--mirostat-eta", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--boost-word", default=None,
                   help="force this one-token word (e.g. ' and') when it ranks in the top 30 (run-on sampler)")


def _add_grammar_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--grammar", metavar="FILE", help="constrain the output to a .lark (or .gbnf) grammar")
    g.add_argument("--json", action="store_true", help="constrain the output to JSON")
    g.add_argument("--regex", metavar="RE", help="constrain the output to a regular expression")
    g.add_argument("--schema", metavar="FILE", help="constrain the output to a JSON Schema")


def _load(args: argparse.Namespace):
    from constrain import Llama

    return Llama(args.model, n_ctx=args.ctx, n_threads=args.threads, seed=getattr(args, "seed", None))


def _sampling_kwargs(args: argparse.Namespace, llm) -> dict:
    kwargs = dict(top_k=args.top_k, top_p=args.top_p, min_p=args.min_p, seed=args.seed,
                  mirostat_tau=args.mirostat_tau, mirostat_eta=args.mirostat_eta)
    if args.sampler == "greedy":
        kwargs.update(temperature=0.0)
    else:
        kwargs.update(temperature=args.temp,
                      mirostat_mode={"mirostat": 2, "mirostat1": 1, "dist": 0}[args.sampler])
    if args.boost_word:
        from constrain.samplers import WordBooster

        kwargs["logits_processor"] = [WordBooster.for_word(llm.tokenizer, args.boost_word)]
    return kwargs


def _grammar(args: argparse.Namespace):
    from constrain import grammars

    if getattr(args, "grammar", None):
        if args.grammar.endswith(".gbnf"):
            with open(args.grammar, encoding="utf-8") as f:
                return grammars.Grammar.from_gbnf(f.read())
        return grammars.Grammar.from_file(args.grammar)
    if getattr(args, "json", False):
        return grammars.json()
    if getattr(args, "regex", None):
        return grammars.regex(args.regex)
    if getattr(args, "schema", None):
        with open(args.schema, encoding="utf-8") as f:
            return grammars.json_schema(json.load(f))
    return None


def _write_stream(chunks, key) -> str:
    text = []
    for chunk in chunks:
        delta = key(chunk)
        if delta:
            sys.stdout.write(delta)
            sys.stdout.flush()
            text.append(delta)
    return "".join(text)


def cmd_run(args: argparse.Namespace) -> int:
    grammar = _grammar(args)
    llm = _load(args)
    stream = llm.create_completion(args.prompt, max_tokens=args.n, stream=True, grammar=grammar,
                                   **_sampling_kwargs(args, llm))
    if not args.quiet_prompt:
        sys.stdout.write(args.prompt)
    _write_stream(stream, lambda c: c["choices"][0]["text"])
    sys.stdout.write("\n")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    llm = _load(args)
    messages = [{"role": "system", "content": args.system}] if args.system else []
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            sys.stdout.write("> ")
            sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            break
        line = line.rstrip("\n")
        if not line.strip():
            continue
        messages.append({"role": "user", "content": line})
        stream = llm.create_chat_completion(messages, max_tokens=args.n, stream=True, **_sampling_kwargs(args, llm))
        reply = _write_stream(stream, lambda c: c["choices"][0]["delta"].get("content"))
        sys.stdout.write("\n")
        messages.append({"role": "assistant", "content": reply})
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    llm = _load(args)
    probabilities = llm.classify(args.prompt, args.labels)
    width = max(len(label) for label in args.labels)
    for label, p in sorted(probabilities.items(), key=lambda kv: -kv[1]):
        print(f"{label:<{width}}  {p:.3f}")
    return 0


def _read_texts(source: str | None) -> tuple[list[str], bool]:
    """The texts to extract from: one whole text, or one per line of a JSONL file
    (each line a JSON string or an object with a "text" field)."""
    if source in (None, "-"):
        raw = sys.stdin.read()
    else:
        with open(source, encoding="utf-8") as f:
            raw = f.read()
    if source is not None and source.endswith(".jsonl"):
        texts = []
        for number, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                raise ConstrainError(f"{source}:{number}: not JSON ({e})") from None
            text = item.get("text") if isinstance(item, dict) else item
            if not isinstance(text, str):
                raise ConstrainError(f'{source}:{number}: expected a JSON string or an object with a "text" string')
            texts.append(text)
        return texts, True
    return [raw], False


def cmd_extract(args: argparse.Namespace) -> int:
    from constrain.extraction import extract
    from constrain.grammars import json_schema

    with open(args.schema, encoding="utf-8") as f:
        try:
            schema = json.load(f)
        except json.JSONDecodeError as e:
            raise ConstrainError(f"{args.schema}: not JSON ({e})") from None
    if args.ray:
        return _extract_on_ray(args, schema)
    if args.output or args.ray_address or args.actors:
        raise ConstrainError("--output, --ray-address and --actors go with --ray (without it the JSON goes to stdout)")
    texts, many = _read_texts(args.text)
    grammar = json_schema(schema)
    from constrain import Llama

    llm = Llama(args.model, n_ctx=args.ctx, n_threads=args.threads, seed=getattr(args, "seed", None),
                n_seq_max=args.batch_size)
    kwargs = _sampling_kwargs(args, llm)
    if many:
        from tqdm import tqdm

        from constrain.extraction import extract_many

        progress = tqdm(total=len(texts), desc="extracting", unit="text", file=sys.stderr)
        chunk = 4 * args.batch_size  # printed as each chunk completes, in input order
        for start in range(0, len(texts), chunk):
            for value in extract_many(llm, schema, texts[start:start + chunk], grammar=grammar, max_tokens=args.n,
                                      **kwargs):
                if isinstance(value, ConstrainError):
                    print(json.dumps({"error": str(value)}, ensure_ascii=False), flush=True)
                else:
                    print(json.dumps(value, ensure_ascii=False), flush=True)
                progress.update()
        progress.close()
    else:
        value = extract(llm, schema, texts[0], grammar=grammar, max_tokens=args.n, **kwargs)
        print(json.dumps(value, ensure_ascii=False, indent=None if args.compact else 2))
    return 0


def _extract_on_ray(args: argparse.Namespace, schema: dict) -> int:
    if not args.text or not args.text.endswith(".jsonl"):
        raise ConstrainError("--ray reads a .jsonl file of texts: pass --input FILE.jsonl")
    if args.boost_word:
        raise ConstrainError("--boost-word needs the model in this process; it does not run with --ray")
    try:
        from constrain.batch.jsonl import extract_jsonl
    except ImportError as missing:
        raise ConstrainError(str(missing)) from None
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        lines, failed = extract_jsonl(args.text, out, schema, args.model, ray_address=args.ray_address,
                                      concurrency=args.actors, num_cpus=args.threads, n_seq_max=args.batch_size,
                                      n_ctx=args.ctx, max_tokens=args.n, **_sampling_kwargs(args, None))
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"constrain: {lines - failed} of {lines} texts extracted, {failed} errors", file=sys.stderr)
    return 0


def cmd_grammar_check(args: argparse.Namespace) -> int:
    from constrain.grammars import check_grammar

    report = check_grammar(args.file)
    print(report)
    return 0 if getattr(report, "ok", True) else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from constrain import Llama
    from constrain.server.app import serve

    llm = Llama(args.model, n_ctx=args.ctx, n_threads=args.threads, n_seq_max=args.parallel)
    serve(llm, host=args.host, port=args.port, model_name=args.model_name)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="constrain",
                                     description="Local LLaMA-family models whose output follows a grammar.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="complete a prompt (greedy unless --sampler says otherwise)")
    _add_model_args(run)
    run.add_argument("-p", "--prompt", required=True)
    run.add_argument("-n", "--n", type=int, default=64, help="most tokens to generate")
    run.add_argument("--quiet-prompt", action="store_true", help="print only the completion")
    _add_sampling_args(run, "greedy")
    _add_grammar_args(run)
    run.set_defaults(func=cmd_run)

    chat = sub.add_parser("chat", help="chat through the model's own chat template (reads lines from stdin)")
    _add_model_args(chat)
    chat.add_argument("-s", "--system", default=None, help="system message")
    chat.add_argument("-n", "--n", type=int, default=256, help="most tokens per reply")
    _add_sampling_args(chat, "mirostat")
    chat.set_defaults(func=cmd_chat)

    classify = sub.add_parser("classify", help="probability of each label as the continuation of a prompt")
    _add_model_args(classify)
    classify.add_argument("-p", "--prompt", required=True)
    classify.add_argument("labels", nargs="+")
    classify.set_defaults(func=cmd_classify)

    ext = sub.add_parser("extract", help="extract JSON that follows a JSON Schema from text")
    _add_model_args(ext)
    ext.add_argument("--schema", required=True, metavar="FILE", help="JSON Schema file")
    ext.add_argument("--text", "--input", dest="text", default=None, metavar="FILE",
                     help="text file, '-' for stdin (default), or a .jsonl file of texts (one JSON per line out)")
    ext.add_argument("-n", "--n", type=int, default=512, help="most tokens per extraction")
    ext.add_argument("--compact", action="store_true", help="print the JSON on one line")
    ext.add_argument("--batch-size", type=int, default=4, metavar="B",
                     help="texts of a .jsonl input decoded together (default: 4); a text that fails prints "
                          '{"error": ...} in its place')
    ext.add_argument("--ray", action="store_true",
                     help="extract a .jsonl input on Ray, one model per actor (needs constrain[ray]); "
                          "-t sets each actor's threads")
    ext.add_argument("--ray-address", default=None, metavar="ADDR",
                     help="join this Ray cluster (default: start a local one)")
    ext.add_argument("--actors", type=int, default=None, metavar="N", help="Ray actors (default: fit the cores)")
    ext.add_argument("--output", default=None, metavar="FILE", help="with --ray: write the JSON lines here")
    _add_sampling_args(ext, "greedy")
    ext.set_defaults(func=cmd_extract)

    serve = sub.add_parser("serve", help="an OpenAI-compatible HTTP server (needs constrain[server])")
    _add_model_args(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--model-name", default=None, help="the id /v1/models reports (default: the GGUF's name)")
    serve.add_argument("--parallel", type=int, default=4, metavar="B",
                       help="requests decoded together, each with its own n_ctx context (default: 4)")
    serve.set_defaults(func=cmd_serve)

    from constrain.benchmarking import command as bench_command

    bench = sub.add_parser("bench", help="speed and memory, side by side with llama-cpp-python when installed")
    bench_command.add_arguments(bench)
    bench.set_defaults(func=bench_command.run)

    grammar = sub.add_parser("grammar", help="grammar tools")
    gsub = grammar.add_subparsers(dest="grammar_command", required=True)
    check = gsub.add_parser("check", help="report errors and conflicts of a .lark grammar, print sample sentences")
    check.add_argument("file")
    check.set_defaults(func=cmd_grammar_check)
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
