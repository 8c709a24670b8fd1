# sprec — make, make check, make demo, make bench, make install PREFIX=...
# Site settings (compiler, flags, library names) may go in an optional config.mk.
-include config.mk

CC        ?= mpicc
ifeq ($(origin CC),default)
CC        := mpicc
endif
CFLAGS    ?= -O3 -march=native -g
# -ffp-contract=off: identical expressions round identically in every code path, one
# of the things that keep answers the same for any number of ranks.
SPREC_CFLAGS = -std=c11 -Wall -Wextra -D_GNU_SOURCE -ffp-contract=off -Iinclude -Isrc -MMD -MP
LIBS      ?= -lscalapack-openmpi -llapacke -lopenblas -lm
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)
PREFIX    ?= /usr/local
NP        ?= 2

ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -O1
LDFLAGS  += -fsanitize=$(SANITIZE)
BUILD    ?= build-san
else
BUILD    ?= build
endif
BIN       = $(BUILD)/bin

LIB_SRC  := $(wildcard src/core/*.c src/dist/*.c src/op/*.c src/lsq/*.c src/algo/*.c src/io/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BIN)/%)

.PHONY: all deps check test demo bench install clean
# Keep the test objects (they are intermediate files of a chain of pattern rules).
.SECONDARY:
all: bin/sprec

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(SPREC_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libsprec.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BIN)/sprec: $(CLI_OBJ) $(BUILD)/libsprec.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libsprec.a $(LIBS)

# bin/sprec is the program users run: always the build of the current variant
# (plain or SANITIZE=...), so it is refreshed whenever it differs.
.PHONY: bin/sprec
bin/sprec: $(BIN)/sprec
	@mkdir -p bin
	@cmp -s $< $@ || { cp $< $@.tmp && mv -f $@.tmp $@; }

$(BIN)/test_%: $(BUILD)/tests/test_%.o $(BUILD)/tests/testutil.o $(BUILD)/libsprec.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(CHECK_LIBS)

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(SPREC_CFLAGS) $(CFLAGS) $(shell pkg-config --cflags check 2>/dev/null) -c $< -o $@

deps:
	@scripts/install-deps.sh

# The README's test command: installs what is missing, builds, runs every suite.
check: deps
	$(MAKE) --no-print-directory bin/sprec $(TESTS)
	BUILD=$(BUILD) tests/run-tests.sh

demo: deps
	$(MAKE) --no-print-directory bin/sprec
	scripts/demo.sh

bench: deps
	$(MAKE) --no-print-directory bin/sprec
	scripts/bench.sh

install: bin/sprec
	install -d $(PREFIX)/bin $(PREFIX)/include $(PREFIX)/lib
	install -m 755 bin/sprec $(PREFIX)/bin/sprec
	install -m 644 include/sprec.h $(PREFIX)/include/sprec.h
	install -m 644 $(BUILD)/libsprec.a $(PREFIX)/lib/libsprec.a

clean:
	rm -rf build build-san bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
