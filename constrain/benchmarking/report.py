"""Markdown tables of the medians, with constrain / llama.cpp ratios.

Ratios are constrain over llama.cpp for every row: above 1 means constrain is faster for
tokens/s rows, and uses more for time and memory rows.
"""

from __future__ import annotations

from constrain.benchmarking.protocol import Workload

ENGINE_TITLES = {"constrain": "constrain", "llama_cpp": "llama.cpp"}


def metric_rows(work: Workload) -> list[tuple[str, str, str]]:
    """(key, label, number format) of every row the workload measures."""
    rows = [("first_load_s", "load, first process: builds the tile cache (s)", ".2f"),
            ("load_s", "load, tile cache present (s)", ".2f"),
            ("first_eval_s", "process start to first eval (s)", ".2f"),
            ("prompt_tps", f"prompt, {work.prompt_tokens} tokens in one batch (tokens/s)", ".1f"),
            ("gen_tps", f"generation, {work.gen_tokens} greedy tokens (tokens/s)", ".2f")]
    for ctx in sorted(work.contexts):
        rows.append((f"gen_tps@{ctx}", f"generation at context {ctx}, {work.ctx_gen_tokens} tokens (tokens/s)", ".2f"))
    if len(work.contexts) > 1:
        lo, hi = min(work.contexts), max(work.contexts)
        rows.append((f"scaling_{hi}_{lo}", f"speed at context {hi} / at {lo}", ".2f"))
        rows.append(("fill_tps", f"context fill to {hi} in 512-token batches (tokens/s)", ".1f"))
    if work.json_tokens:
        rows += [("chat_tps", f"chat generation, free, up to {work.json_tokens} tokens (tokens/s)", ".1f"),
                 ("json_tps", "chat generation, JSON grammar (tokens/s)", ".1f"),
                 ("json_share", "JSON grammar / free speed", ".2f"),
                 ("chat_generated", "  tokens generated: free", ".0f"),
                 ("json_generated", "  tokens generated: JSON grammar", ".0f")]
    rows += [("load_VmRSS", "RSS after load (MiB)", ".0f"),
             ("peak_rss_mib", f"peak RSS, n_ctx {work.n_ctx} (MiB)", ".0f"),
             ("RssAnon", "  at exit: anonymous (MiB)", ".0f"),
             ("RssFile", "  at exit: file-backed (MiB)", ".0f"),
             ("peak_rss_4096_mib", "peak RSS, n_ctx 4096 (MiB)", ".0f")]
    return rows


def add_derived(med: dict[str, float], work: Workload) -> dict[str, float]:
    out = dict(med)
    if len(work.contexts) > 1:
        lo, hi = min(work.contexts), max(work.contexts)
        if f"gen_tps@{lo}" in med and f"gen_tps@{hi}" in med:
            out[f"scaling_{hi}_{lo}"] = med[f"gen_tps@{hi}"] / med[f"gen_tps@{lo}"]
    if "json_tps" in med and med.get("chat_tps"):
        out["json_share"] = med["json_tps"] / med["chat_tps"]
    return out


def ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return ""
    return f"{a / b:.2f}x"


def model_table(title: str, meds: dict[str, dict[str, float]], work: Workload) -> str:
    """meds: {engine: medians (add_derived applied)}; constrain first, llama_cpp if present."""
    engines = list(meds)
    compare = "constrain" in meds and "llama_cpp" in meds
    head = ["metric"] + [ENGINE_TITLES.get(e, e) for e in engines] + (["constrain / llama.cpp"] if compare else [])
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label, fmt in metric_rows(work):
        values = [meds[e].get(key) for e in engines]
        if all(v is None for v in values):
            continue
        cells = [label] + ["" if v is None else format(v, fmt) for v in values]
        if compare:
            cells.append(ratio(meds["constrain"].get(key), meds["llama_cpp"].get(key)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def memory_note(file_mib: float, kv: dict[str, tuple[float, str]], meds: dict[str, dict[str, float]]) -> str:
    """File size plus KV cache against the measured peak RSS; kv: {engine: (MiB, what)}."""
    lines = [f"file {file_mib:,.0f} MiB"]
    for engine, med in meds.items():
        if engine not in kv:
            continue
        kv_mib, what = kv[engine]
        line = f"{ENGINE_TITLES.get(engine, engine)}: KV cache {kv_mib:,.0f} MiB ({what})"
        if "peak_rss_mib" in med:
            total = file_mib + kv_mib
            line += (f"; peak RSS {med['peak_rss_mib']:,.0f} MiB = {med['peak_rss_mib'] / total:.2f}x "
                     f"file + KV ({total:,.0f} MiB)")
        lines.append(line)
    return "- " + "\n- ".join(lines)


def summary_table(rows: list[tuple[str, dict[str, dict[str, float]]]], contexts: tuple[int, ...],
                  main_ctx: int = 512) -> str:
    """One line per model: constrain / llama.cpp ratios of the acceptance figures (main_ctx:
    n_ctx of the prompt-and-generation process)."""
    ctx = max(contexts, default=None)
    head = ["model", "prompt", "generation"] + ([f"gen. at context {ctx}"] if ctx else []) + \
        [f"peak RSS n_ctx {main_ctx}", "peak RSS n_ctx 4096", "load (tile cache present)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, meds in rows:
        c, l = meds.get("constrain", {}), meds.get("llama_cpp", {})
        keys = ["prompt_tps", "gen_tps"] + ([f"gen_tps@{ctx}"] if ctx else []) + \
            ["peak_rss_mib", "peak_rss_4096_mib", "load_s"]
        lines.append("| " + " | ".join([label] + [ratio(c.get(k), l.get(k)) for k in keys]) + " |")
    return "\n".join(lines)


def contention_table(contention: dict[str, dict[str, dict[str, list[float]]]]) -> str:
    """Generation tokens/s per process with each engine's default thread count: alone, two
    processes at once, and beside two busy CPU-bound processes (medians over rounds)."""
    import statistics

    def med(values):
        return statistics.median(values) if values else None

    lines = ["| model | engine | alone | two at once, each | beside two busy processes | drop, two at once | "
             "drop, busy neighbours |", "|---|---|---|---|---|---|---|"]
    for label, engines in contention.items():
        for engine, runs in engines.items():
            alone, two, busy = med(runs["alone"]), med(runs["two"]), med(runs["busy"])
            cells = [label, ENGINE_TITLES.get(engine, engine)] + \
                ["" if v is None else f"{v:.1f}" for v in (alone, two, busy)] + \
                [f"{alone / v:.2f}x" if alone and v else "" for v in (two, busy)]
            lines.append("| " + " | ".join(cells) + " |")
        if {"constrain", "llama_cpp"} <= set(engines):
            c, l = engines["constrain"], engines["llama_cpp"]
            two_ratio = ratio(med(c["two"]), med(l["two"]))
            busy_ratio = ratio(med(c["busy"]), med(l["busy"]))
            lines.append(f"| {label} | constrain / llama.cpp | {ratio(med(c['alone']), med(l['alone']))} | "
                         f"{two_ratio} | {busy_ratio} | | |")
    return "\n".join(lines)
