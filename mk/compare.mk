# The nftables / iptables comparison (bench/bench_compare.sh): the policy
# translator (bench/translate/rp2fw*.c; what it links named like the
# tests', mk/tests.mk) and the packet sender (bench/cmp_flood.c, plain C).  Built by
# `make tests` (the compare suite checks the translator) and `make bench`.
CMP_BINS := $(BUILD)/bench/rp2fw $(if $(wildcard bench/cmp_flood.c),$(BUILD)/bench/cmp_flood)

RP2FW_SRCS := $(wildcard bench/translate/*.c)
SRCS_bench/rp2fw := geo config lib

$(BUILD)/bench/rp2fw: $(RP2FW_SRCS) bench/translate/rp2fw.h $(call link_inputs,$(BUILD)/us,$(SRCS_bench/rp2fw)) $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(US_CFLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) -o $@ $(RP2FW_SRCS) $(call link_inputs,$(BUILD)/us,$(SRCS_bench/rp2fw)) $(US_LDLIBS)

$(BUILD)/bench/cmp_flood: bench/cmp_flood.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g $(CFLAGS_WARN) -D_GNU_SOURCE -o $@ $<

.PHONY: bench-compare-bins
bench-compare-bins: $(CMP_BINS)
tests: $(CMP_BINS)
bench-bins: $(CMP_BINS)
