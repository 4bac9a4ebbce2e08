# userspace/*.c -> build/rempart.  Every .c in userspace/ is one concern;
# main.c holds the command table.  The embeddable-wg-library is compiled from
# where Debian's wireguard-tools installs it, as its own translation unit.
US_SRCS    := $(wildcard userspace/*.c userspace/*/*.c)
US_HDRS    := $(wildcard userspace/*.h userspace/*/*.h)
US_OBJS    := $(patsubst userspace/%.c,$(BUILD)/us/%.o,$(US_SRCS))
US_LIB_OBJS := $(filter-out $(BUILD)/us/main.o,$(US_OBJS))
WG_EMBED_OBJ := $(BUILD)/us/embeddable-wg.o

CFLAGS_WARN := -Wall -Wextra -Werror -Wno-unused-parameter
US_CFLAGS  ?= -O2 -g
US_CPPFLAGS := -D_GNU_SOURCE -I userspace $(patsubst %/,-I %,$(wildcard userspace/*/)) -I bpf -I $(BUILD)/bpf -I $(WG_EMBED_DIR)
US_LDLIBS  := -lbpf -lelf -lz -lmnl -liniparser -lmaxminddb -ljson-c \
	-lcrypto -lm

$(BUILD)/us/%.o: userspace/%.c $(US_HDRS) $(BPF_HDRS) $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(US_CFLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) -MMD -c $< -o $@

# Not our code: built with its own (relaxed) warnings, never edited or copied.
$(WG_EMBED_OBJ): $(WG_EMBED_DIR)/wireguard.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -D_GNU_SOURCE -w -c $< -o $@

$(BUILD)/librempart.a: $(US_LIB_OBJS) $(WG_EMBED_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# Objects linked directly (not through the archive) so that a strong cmd_*
# definition always replaces main.c's weak "not implemented" stub.
$(BUILD)/rempart: $(US_OBJS) $(WG_EMBED_OBJ)
	$(call msg,LD,$@)
	$(Q)$(CC) $(US_CFLAGS) -o $@ $^ $(US_LDLIBS)

-include $(US_OBJS:.o=.d)
