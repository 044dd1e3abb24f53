# replikv — the two commands of the README, and the rest.
#   make demo    every replication preset under the same faults (replikv demo): the table, report.html
#   make test    everything: unit, simulation, fuzz corpus, end-to-end; release and ASan+UBSan
#   make fuzz    a bounded libFuzzer run of the RESP parser (FUZZ_SECONDS, default 60)
#   make bench   replikv against Redis, side by side (writes docs/benchmarks.md)
#   make build   the release build of the replikv binary only
.PHONY: demo test fuzz bench build clean

FUZZ_SECONDS ?= 60

build:
	@scripts/bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target replikv

demo: build
	@scripts/demo

test:
	@scripts/test

fuzz:
	@scripts/fuzz $(FUZZ_SECONDS)

bench: build
	@scripts/bootstrap --bench
	@bench/run

clean:
	rm -rf build
