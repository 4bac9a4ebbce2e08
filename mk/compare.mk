# The nftables / iptables comparison (bench/bench_compare.sh): the policy
# translator (bench/translate/rp2fw.c, linked with librempart.a like the
# tests) and the packet sender (bench/cmp_flood.c, plain C).  Built by
# `make tests` (the compare suite checks the translator) and `make bench`.
CMP_BINS := $(BUILD)/bench/rp2fw $(if $(wildcard bench/cmp_flood.c),$(BUILD)/bench/cmp_flood)

RP2FW_SRCS := $(wildcard bench/translate/*.c)

$(BUILD)/bench/rp2fw: $(RP2FW_SRCS) bench/translate/rp2fw.h $(BUILD)/librempart.a $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(US_CFLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) -o $@ $(RP2FW_SRCS) $(BUILD)/librempart.a $(US_LDLIBS)

$(BUILD)/bench/cmp_flood: bench/cmp_flood.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g $(CFLAGS_WARN) -D_GNU_SOURCE -o $@ $<

.PHONY: bench-compare-bins
bench-compare-bins: $(CMP_BINS)
tests: $(CMP_BINS)
bench-bins: $(CMP_BINS)
