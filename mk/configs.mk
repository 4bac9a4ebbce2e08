# configs/*/keys: the tenants' private keys and the preshared keys that the
# example and lab configs name (`private_key_file = ../keys/NAME.key`,
# `preshared_key_file = ../keys/NAME.psk`).  Git keeps no file modes, so they
# are not committed: they are generated here, mode 0600, when missing.
CONFIG_KEYS := $(sort $(foreach d,$(wildcard configs/*/tenants.d),\
	$(addprefix $(dir $(d)),$(shell sed -n 's|^[a-z_]*key_file *= *\.\./\(keys/[A-Za-z0-9._-]*\).*|\1|p' $(d)/*.ini))))

all: $(CONFIG_KEYS)

configs/%.key: | $(BUILD)/rempart
	$(call msg,KEYGEN,$@)
	$(Q)mkdir -p $(@D) && (umask 077 && $(BUILD)/rempart keygen > $@.tmp) && mv $@.tmp $@

configs/%.psk: | $(BUILD)/rempart
	$(call msg,KEYGEN,$@)
	$(Q)mkdir -p $(@D) && (umask 077 && $(BUILD)/rempart keygen --psk > $@.tmp) && mv $@.tmp $@
