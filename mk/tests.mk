# Tests: C test programs in tests/unit and tests/bpf (test_*.c), libFuzzer
# harnesses in tests/fuzz (fuzz_*.c), scripts listed in tests/suites, one
# runner that counts.  tests/lib/ is code only tests link (the reference
# packet parser, scratch config directories): never part of rempart.
#
# Each program names what it links, as OpenBGPD's regress Makefiles
# (SRCS_rde_trie_test= ...) and wireguard-tools' src/fuzz/Makefile do, so
# that this file shows what a test depends on:
#
#   SRCS_unit/test_route_plan := net/route_plan.c net/tenant.c kernel config lib testlib
#
# The name is the program's path under tests/ without .c.  A word ending in
# .c is one userspace/ source (its object alone); a folder of
# userspace/LAYERS (lib, config, kernel/wg...) is that layer's archive
# (build/us/lib<folder>.a, from which the linker takes only what the
# program uses); testlib is tests/lib/; none, nothing of userspace/.  The
# order of the words does not matter: layers are linked from the top of
# userspace/LAYERS down, and a layer needs the layers below it that it uses
# named too (the link says which symbol is missing).  A new test_x.c or
# fuzz_x.c needs its line here, or make stops and says so; a bench program
# has its line in mk/bench.mk or mk/compare.mk.

SRCS_unit/test_audit_route := audit/audit_route.c audit/audit_route_build.c kernel lib
SRCS_unit/test_audit_nft   := audit/audit_nft.c lib
SRCS_unit/test_config      := config lib testlib
SRCS_unit/test_eval        := eval policy geo config lib
SRCS_unit/test_eval_table  := eval policy geo config lib testlib
SRCS_unit/test_geo         := geo config lib
SRCS_unit/test_ha          := ha net kernel/wg kernel eval policy geo config lib testlib
SRCS_unit/test_keyrot_end  := net kernel/wg kernel policy config lib
SRCS_unit/test_net_state   := net/net_state.c lib
SRCS_unit/test_op_confirm  := app net dataplane kernel/wg kernel policy geo config lib
SRCS_unit/test_op_events   := app eval policy geo config lib
SRCS_unit/test_op_log      := app eval policy geo config lib
SRCS_unit/test_op_metrics  := app net dataplane kernel/wg kernel policy eval geo config lib
SRCS_unit/test_op_plan     := app net dataplane kernel/wg kernel policy eval geo config lib
SRCS_unit/test_packet      := testlib lib
SRCS_unit/test_route_plan  := net/route_plan.c net/tenant.c kernel config lib testlib
SRCS_unit/test_sites       := app net kernel/wg config lib
SRCS_unit/test_tn_netdrv   := net kernel/wg kernel policy config lib
SRCS_unit/test_wg_pid      := kernel/wg kernel lib
SRCS_unit/test_x25519      := lib
SRCS_bpf/test_audit        := audit net dataplane kernel/wg kernel policy geo config lib
SRCS_bpf/test_dataplane    := dataplane policy eval config lib
SRCS_bpf/test_diff         := dataplane policy eval geo config lib testlib
SRCS_bpf/test_dpread       := dataplane policy geo config lib
SRCS_bpf/test_geo          := geo config lib
SRCS_bpf/test_inc          := dataplane kernel policy config lib
SRCS_bpf/test_loader       := dataplane kernel policy geo config lib
SRCS_bpf/test_haflows      := ha dataplane kernel eval policy geo config lib
SRCS_bpf/test_swap         := dataplane kernel policy config lib
SRCS_bpf/test_trie_share   := policy config lib
SRCS_bpf/test_verifier     := none
SRCS_fuzz/fuzz_config      := config lib
SRCS_fuzz/fuzz_geo         := geo config lib
SRCS_fuzz/fuzz_packet      := eval policy geo config lib testlib
SRCS_oracle/oracle         := config lib

# ---- how the lines above are linked -----------------------------------------

TEST_SRCS := $(wildcard tests/unit/test_*.c tests/bpf/test_*.c)
TEST_NAMES := $(patsubst tests/%.c,%,$(TEST_SRCS))
TEST_BINS := $(patsubst %,$(BUILD)/tests/%,$(TEST_NAMES))
TEST_HDRS := $(wildcard tests/*.h tests/*/*.h)
TEST_CPPFLAGS := -I tests -I tests/lib
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB := $(BUILD)/tests/libtest.a

# $(call link_inputs,OBJDIR,WORDS,TESTLIB): what one SRCS_ line links, in
# link order (OBJDIR: build/us, or build/fuzz/us for the harnesses).
link_word_ok = $(or $(filter %.c testlib none $(US_LAYERS_DOWN),$(1)),$(error mk/tests.mk: '$(1)' is neither a userspace/ source (x/y.c), a folder of userspace/LAYERS, testlib nor none))
link_inputs = $(strip $(foreach w,$(2),$(if $(call link_word_ok,$(w)),)) \
	$(patsubst %.c,$(1)/%.o,$(filter %.c,$(2))) \
	$(if $(filter testlib,$(2)),$(3)) \
	$(foreach l,$(US_LAYERS_DOWN),$(if $(filter $(l),$(2)),$(call layer_ar,$(1),$(l)))))
# The SRCS_ line of tests/NAME.c, or a stop that says what to add.
srcs_of = $(or $(SRCS_$(1)),$(error tests/$(1).c names nothing it links: add a line "SRCS_$(1) := ..." to mk/tests.mk (the layers and sources it links; see the top of that file)))

$(BUILD)/tests/lib/%.o: tests/lib/%.c $(US_HDRS) $(TEST_HDRS) $(BPF_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(US_CFLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) $(TEST_CPPFLAGS) -c $< -o $@

$(TESTLIB): $(patsubst tests/lib/%.c,$(BUILD)/tests/lib/%.o,$(TESTLIB_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

define TEST_RULE
$(BUILD)/tests/$(1): tests/$(1).c $(call link_inputs,$(BUILD)/us,$(call srcs_of,$(1)),$(TESTLIB)) $(TEST_HDRS) $(BPF_SKELS)
	$$(call msg,CC,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CC) $$(US_CFLAGS) $$(CFLAGS_WARN) $$(US_CPPFLAGS) $$(TEST_CPPFLAGS) -o $$@ $$< $(call link_inputs,$(BUILD)/us,$(call srcs_of,$(1)),$(TESTLIB)) $$(US_LDLIBS)
endef
$(foreach t,$(TEST_NAMES),$(eval $(call TEST_RULE,$(t))))

# libFuzzer harnesses: the userspace sources rebuilt with clang and
# sanitizers, into per-layer archives of their own (build/fuzz/us).
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/%.c,%,$(FUZZ_SRCS))
FUZZ_BINS := $(patsubst fuzz/%,$(BUILD)/fuzz/%,$(FUZZ_NAMES))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_DIR := $(BUILD)/fuzz/us
FUZZ_TESTLIB := $(BUILD)/fuzz/tests/libtest.a

$(FUZZ_DIR)/%.o: userspace/%.c $(US_HDRS) $(BPF_HDRS) $(BPF_SKELS)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) -c $< -o $@

$(BUILD)/fuzz/tests/lib/%.o: tests/lib/%.c $(US_HDRS) $(TEST_HDRS) $(BPF_HDRS)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) $(TEST_CPPFLAGS) -c $< -o $@

$(FUZZ_TESTLIB): $(patsubst tests/lib/%.c,$(BUILD)/fuzz/tests/lib/%.o,$(TESTLIB_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(foreach l,$(US_LAYERS_DOWN),$(eval $(call LAYER_AR_RULE,$(FUZZ_DIR),$(l))))

define FUZZ_RULE
$(BUILD)/$(1): tests/$(1).c $(call link_inputs,$(FUZZ_DIR),$(call srcs_of,$(1)),$(FUZZ_TESTLIB))
	$$(call msg,FUZZLD,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined $$(CFLAGS_WARN) $$(US_CPPFLAGS) $$(TEST_CPPFLAGS) -o $$@ $$< $(call link_inputs,$(FUZZ_DIR),$(call srcs_of,$(1)),$(FUZZ_TESTLIB)) $$(US_LDLIBS)
endef
$(foreach t,$(FUZZ_NAMES),$(eval $(call FUZZ_RULE,$(t))))

# librempart.a, the whole of userspace/ in one archive, is gone: a program
# names what it links (above).  A branch that still links it stops here.
$(BUILD)/librempart.a:
	@echo "$@ is gone: name what the program links (an SRCS_ line, see the top of mk/tests.mk)" >&2; exit 1

# The invariant oracle (tests/oracle, docs/testing.md): one program of its own.
ORACLE_SRCS := $(wildcard tests/oracle/*.c)
ORACLE_BIN := $(BUILD)/tests/oracle/oracle
ORACLE_LINK = $(call link_inputs,$(BUILD)/us,$(call srcs_of,oracle/oracle),$(TESTLIB))
$(ORACLE_BIN): $(ORACLE_SRCS) $(wildcard tests/oracle/*.h) $(ORACLE_LINK) $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(US_CFLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) -I tests -I tests/oracle -o $@ $(ORACLE_SRCS) $(ORACLE_LINK) $(US_LDLIBS)

# The oracle against this build with one fix reverted (tests/oracle/revert/
# ITEM.patch applied to a copy of bpf/rempart.bpf.c): the suite shows that the
# oracle catches items 1, 2 and 8 of issue 13 when their fixes are undone.
ORACLE_REVERTS := $(patsubst tests/oracle/revert/%.patch,%,$(wildcard tests/oracle/revert/*.patch))
ORACLE_REVERT_BINS := $(patsubst %,$(BUILD)/tests/oracle/oracle-revert-%,$(ORACLE_REVERTS))
.SECONDARY: $(patsubst %,$(BUILD)/oracle-revert/%/rempart.skel.h,$(ORACLE_REVERTS))
$(BUILD)/oracle-revert/%/rempart.skel.h: tests/oracle/revert/%.patch bpf/rempart.bpf.c $(BPF_HDRS)
	$(call msg,REVERT,$@)
	$(Q)rm -rf $(@D) && mkdir -p $(@D)/bpf && cp bpf/rempart.bpf.c $(@D)/bpf/
	$(Q)patch -s -p1 -d $(@D) < $< || { echo "$<: no longer applies to bpf/rempart.bpf.c: refresh it (docs/testing.md)" >&2; exit 1; }
	$(Q)$(CLANG) $(BPF_CFLAGS) -Wno-unused-function -c $(@D)/bpf/rempart.bpf.c -o $(@D)/rempart.bpf.o
	$(Q)$(BPFTOOL) gen skeleton $(@D)/rempart.bpf.o name rempart > $@
$(BUILD)/tests/oracle/oracle-revert-%: $(BUILD)/oracle-revert/%/rempart.skel.h $(ORACLE_SRCS) $(wildcard tests/oracle/*.h) $(ORACLE_LINK)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(US_CFLAGS) $(CFLAGS_WARN) -I $(BUILD)/oracle-revert/$* $(US_CPPFLAGS) -I tests -I tests/oracle \
		-DORACLE_REVERTED='"$*"' -o $@ $(ORACLE_SRCS) $(ORACLE_LINK) $(US_LDLIBS)

.PHONY: tests check check-only check-layers fuzz golden-regen
tests: all $(TEST_BINS) $(FUZZ_BINS) $(ORACLE_BIN) $(ORACLE_REVERT_BINS)

check: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(abspath $(BUILD)) tests/run-all.sh

# Run the suites without re-checking deps (developer loop).  SUITES=name,...
check-only: tests
	$(Q)BUILD=$(abspath $(BUILD)) tests/run-all.sh

# userspace/ keeps its layers (userspace/LAYERS): no upward include, no include
# or call cycle.  Also the "layers" suite of `make check`, with its self-test.
check-layers: all
	$(Q)tests/layers/check_layers.py --objs $(BUILD)/us

golden-regen: all
	$(Q)BUILD=$(abspath $(BUILD)) tests/golden/run.sh --regen
