# Tests: C test programs in tests/unit and tests/bpf (test_*.c, linked with
# librempart.a), scripts listed in tests/suites, one runner that counts.
TEST_SRCS := $(wildcard tests/unit/test_*.c tests/bpf/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_HDRS := $(wildcard tests/*.h tests/*/*.h)

$(BUILD)/tests/%: tests/%.c $(BUILD)/librempart.a $(TEST_HDRS) $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(US_CFLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) -I tests -o $@ $< $(BUILD)/librempart.a $(US_LDLIBS)

# libFuzzer harnesses: the userspace sources rebuilt with clang and sanitizers.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_US_OBJS := $(patsubst userspace/%.c,$(BUILD)/fuzz/us/%.o,$(filter-out userspace/main.c,$(US_SRCS)))

$(BUILD)/fuzz/us/%.o: userspace/%.c $(US_HDRS) $(BPF_HDRS) $(BPF_SKELS)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) -c $< -o $@

# Through an archive, like the unit tests: a harness pulls in only the objects
# it needs (cmd_*.o need main.c's helpers, which a harness does not link).
FUZZ_LIB := $(BUILD)/fuzz/librempart.a
$(FUZZ_LIB): $(FUZZ_US_OBJS) $(WG_EMBED_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	$(call msg,FUZZLD,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined $(CFLAGS_WARN) $(US_CPPFLAGS) -I tests -o $@ $< $(FUZZ_LIB) $(US_LDLIBS)

.PHONY: tests check check-only fuzz golden-regen
tests: all $(TEST_BINS) $(FUZZ_BINS)

check: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(abspath $(BUILD)) tests/run-all.sh

# Run the suites without re-checking deps (developer loop).  SUITES=name,...
check-only: tests
	$(Q)BUILD=$(abspath $(BUILD)) tests/run-all.sh

golden-regen: all
	$(Q)BUILD=$(abspath $(BUILD)) tests/golden/run.sh --regen
