# The two commands that set everything up on a fresh machine: `make demo` and `make test`.
PY := .venv/bin/python
export PYTHONWARNINGS := ignore:pkg_resources is deprecated:UserWarning

.PHONY: install demo test bench clean

install:
	@bash scripts/install.sh

demo: install
	$(PY) tools/demo.py $(DEMO_ARGS)

test: install
	$(PY) -m pytest tests $(PYTEST_ARGS)

bench: install
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf work_dirs .pytest_cache build *.egg-info
