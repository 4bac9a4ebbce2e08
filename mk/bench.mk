# bench: bench/bench_*.c are built like the tests (mk/tests.mk: each names
# what it links);
# bench/run-all.sh runs every executable bench/bench_*.sh and writes
# bench/results/<date>-<host>.json and .md.  Results, not pass/fail.
BENCH_SRCS := $(wildcard bench/bench_*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

SRCS_bench/bench_dataplane := dataplane policy geo config lib
SRCS_bench/bench_geo       := geo config lib
SRCS_bench/bench_scaleout  := lib

define BENCH_RULE
$(BUILD)/bench/$(1): bench/$(1).c $(call link_inputs,$(BUILD)/us,$(call srcs_of,bench/$(1))) $(TEST_HDRS) $(BPF_SKELS)
	$$(call msg,CC,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CC) $$(US_CFLAGS) $$(CFLAGS_WARN) $$(US_CPPFLAGS) -I tests -o $$@ $$< $(call link_inputs,$(BUILD)/us,$(call srcs_of,bench/$(1))) $$(US_LDLIBS)
endef
$(foreach b,$(patsubst bench/%.c,%,$(BENCH_SRCS)),$(eval $(call BENCH_RULE,$(b))))

.PHONY: bench bench-bins
bench-bins: $(BENCH_BINS)

bench: deps
	$(Q)$(MAKE) --no-print-directory bench-bins
	$(Q)BUILD=$(abspath $(BUILD)) bench/run-all.sh
