# Thin wrapper over CMake presets. Every target first makes sure the dependencies are there.
#   make          dev build (build/dev)
#   make test     install what is missing, build under ASan+UBSan, run every test, then a short fuzz run
#   make release  optimised build (build/release)
#   make bench    optimised build, then run the benchmarks in tests/bench
#   make format   clang-format the tree
#   make trial    install, build (release), make secrets and start the whole platform on this host
#   make trial-stop  stop it (its data folder, ./trial or $RAMPART_TRIAL_DIR, stays)
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 20

.PHONY: all deps dev release test unit fuzz bench format clean trial trial-stop trial-status

all: dev

deps:
	@scripts/install-deps.sh --check >/dev/null 2>&1 || scripts/install-deps.sh

dev: deps
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)

release: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

test: deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)
	$(MAKE) --no-print-directory fuzz

fuzz: deps
	cmake --preset fuzz -DRAMPART_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	cmake --build --preset fuzz -j $(JOBS)
	ctest --preset fuzz

bench: deps
	cmake --preset bench >/dev/null
	cmake --build --preset bench -j $(JOBS)
	tests/bench/run-all.sh build/bench

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

# The local trial (scripts/trial.sh, docs/install.md). RAMPART_TRIAL_DIR moves its data folder.
trial: deps
	scripts/trial.sh start

trial-stop:
	scripts/trial.sh stop

trial-status:
	scripts/trial.sh status

clean:
	rm -rf build
