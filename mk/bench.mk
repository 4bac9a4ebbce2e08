# bench: bench/bench_*.c are built like the tests (mk/tests.mk: each names
# what it links);
# bench/run-all.sh runs every executable bench/bench_*.sh and writes
# bench/results/<date>-<host>.json and .md, and bench/plot.py's figures
# beside them (BENCH_DEB_PACKAGES: installed here, not by make check).
# make bench-plot RESULTS=bench/results/X.json redraws X's figures.
# Results, not pass/fail.
BENCH_SRCS := $(wildcard bench/bench_*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

SRCS_bench/bench_dataplane := dataplane policy geo config lib
SRCS_bench/bench_geo       := geo config lib
SRCS_bench/bench_scaleout  := lib

define BENCH_RULE
$(BUILD)/bench/$(1): bench/$(1).c $(wildcard bench/*.h) $(call link_inputs,$(BUILD)/us,$(call srcs_of,bench/$(1))) $(TEST_HDRS) $(BPF_SKELS)
	$$(call msg,CC,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CC) $$(US_CFLAGS) $$(CFLAGS_WARN) $$(US_CPPFLAGS) -I tests -o $$@ $$< $(call link_inputs,$(BUILD)/us,$(call srcs_of,bench/$(1))) $$(US_LDLIBS)
endef
$(foreach b,$(patsubst bench/%.c,%,$(BENCH_SRCS)),$(eval $(call BENCH_RULE,$(b))))

.PHONY: bench bench-bins bench-plot
# everything a benchmark runs: rempart, the tests' drivers (bench_apply),
# the comparison's translator and sender (mk/compare.mk, part of `tests`)
bench-bins: tests $(BENCH_BINS)

bench:
	$(Q)$(MAKE) --no-print-directory deps EXTRA_DEB_PACKAGES="$(EXTRA_DEB_PACKAGES) $(BENCH_DEB_PACKAGES)"
	$(Q)$(MAKE) --no-print-directory bench-bins
	$(Q)BUILD=$(abspath $(BUILD)) bench/run-all.sh

bench-plot:
	$(Q)[ -n "$(RESULTS)" ] || { echo "make bench-plot RESULTS=bench/results/DATE-HOST.json" >&2; exit 2; }
	$(Q)$(MAKE) --no-print-directory deps EXTRA_DEB_PACKAGES="$(EXTRA_DEB_PACKAGES) $(BENCH_DEB_PACKAGES)"
	$(Q)/usr/bin/python3 bench/plot.py $(RESULTS) $(dir $(RESULTS))
