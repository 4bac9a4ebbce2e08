# Tests: C test programs in tests/unit and tests/bpf (test_*.c, linked with
# libtest.a and librempart.a), scripts listed in tests/suites, one runner
# that counts.  tests/lib/ is code only tests link (the reference packet
# parser): never part of rempart.
TEST_SRCS := $(wildcard tests/unit/test_*.c tests/bpf/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_HDRS := $(wildcard tests/*.h tests/*/*.h)
TEST_CPPFLAGS := -I tests -I tests/lib
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB := $(BUILD)/tests/libtest.a

$(BUILD)/tests/lib/%.o: tests/lib/%.c $(US_HDRS) $(TEST_HDRS) $(BPF_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(US_CFLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) $(TEST_CPPFLAGS) -c $< -o $@

$(TESTLIB): $(patsubst tests/lib/%.c,$(BUILD)/tests/lib/%.o,$(TESTLIB_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/%.c $(TESTLIB) $(BUILD)/librempart.a $(TEST_HDRS) $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(US_CFLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) $(TEST_CPPFLAGS) -o $@ $< $(TESTLIB) $(BUILD)/librempart.a $(US_LDLIBS)

# libFuzzer harnesses: the userspace sources rebuilt with clang and sanitizers.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_US_OBJS := $(patsubst userspace/%.c,$(BUILD)/fuzz/us/%.o,$(filter-out userspace/cli/main.c,$(US_SRCS)))

$(BUILD)/fuzz/us/%.o: userspace/%.c $(US_HDRS) $(BPF_HDRS) $(BPF_SKELS)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) -c $< -o $@

# Through an archive, like the unit tests: a harness pulls in only the objects
# it needs.
FUZZ_LIB := $(BUILD)/fuzz/librempart.a
FUZZ_TESTLIB_OBJS := $(patsubst tests/lib/%.c,$(BUILD)/fuzz/tests/lib/%.o,$(TESTLIB_SRCS))

$(BUILD)/fuzz/tests/lib/%.o: tests/lib/%.c $(US_HDRS) $(TEST_HDRS) $(BPF_HDRS)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) $(TEST_CPPFLAGS) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_US_OBJS) $(FUZZ_TESTLIB_OBJS) $(WG_EMBED_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	$(call msg,FUZZLD,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined $(CFLAGS_WARN) $(US_CPPFLAGS) $(TEST_CPPFLAGS) -o $@ $< $(FUZZ_LIB) $(US_LDLIBS)

.PHONY: tests check check-only check-layers fuzz golden-regen
tests: all $(TEST_BINS) $(FUZZ_BINS)

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
