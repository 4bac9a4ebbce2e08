# bench: bench/bench_*.c are built like the tests (linked with librempart.a);
# bench/run-all.sh runs every executable bench/bench_*.sh and writes
# bench/results/<date>-<host>.json and .md.  Results, not pass/fail.
BENCH_SRCS := $(wildcard bench/bench_*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

$(BUILD)/bench/%: bench/%.c $(BUILD)/librempart.a $(TEST_HDRS) $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(US_CFLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) -I tests -o $@ $< $(BUILD)/librempart.a $(US_LDLIBS)

.PHONY: bench bench-bins
bench-bins: $(BENCH_BINS)

bench: deps
	$(Q)$(MAKE) --no-print-directory bench-bins
	$(Q)BUILD=$(abspath $(BUILD)) bench/run-all.sh
