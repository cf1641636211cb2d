"""Speed and memory benchmarks of the runtime, side by side with llama-cpp-python.

`constrain bench` (command.py) is the entry point. Every measurement runs in a fresh
worker process (worker.py) so load time and peak RSS are per process; runner.py starts
the workers, engines interleaved round by round; engines.py adapts constrain and
llama_cpp to one interface and protocol.py times them alike; synthetic.py writes the
random-weight full-size GGUF files; report.py prints the tables.

Nothing here is imported by the library itself.
"""
