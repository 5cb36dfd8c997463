# Thin front door: the real build is Meson + Ninja (see meson.build).
#   make run    install Debian deps, build, run postern on the embedded default config (./var)
#   make test   install Debian deps, build with ASan+UBSan, run unit, fuzz and integration tests,
#               and compile the optimised build
#   make build  optimised build in build/
#   make deb    Debian package (debian/, dpkg-buildpackage) in build-deb/postern_<version>_<arch>.deb
#   make clean  remove build directories (build-deb too; not ./var)
PYTHON ?= /usr/bin/python3
# each of the ~23 targets; longer runs: make test-fuzz FUZZ_SECONDS=600
FUZZ_SECONDS ?= 8

.PHONY: all deps build run test test-unit test-integration test-fuzz build-asan clean bench deb

all: build

deps:
	@bash scripts/deps.sh

build/build.ninja:
	meson setup build --buildtype=release -Dwerror=true

build: deps build/build.ninja
	ninja -C build

build-asan/build.ninja:
	meson setup build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Db_asneeded=false -Dwerror=true

build-asan: deps build-asan/build.ninja
	ninja -C build-asan

run: build
	./build/postern serve

test-unit: build-asan
	meson test -C build-asan --suite unit --print-errorlogs

test-fuzz: deps
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

test-integration: build-asan
	POSTERN_BIN=$(CURDIR)/build-asan/postern $(PYTHON) -m pytest -q tests/integration

test: build-asan build test-unit test-fuzz test-integration

deb: deps
	bash scripts/deb.sh

bench: build
	bash bench/smtp_accept

clean:
	rm -rf build build-asan build-fuzz build-deb
