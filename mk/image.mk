# The gateway VM image (image/README.md): build, boot test, config drive.
#   make image                  image/out/rempart-gw.{raw,qcow2}
#   make image-test             boot it in qemu (TCG) against a WireGuard site
#   make config-drive CONFIG=dir [CONFIG_DRIVE=file]   ext4 disk labelled REMPART
IMAGE_OUT    ?= image/out
IMAGE_QCOW2  := $(IMAGE_OUT)/rempart-gw.qcow2
CONFIG_DRIVE ?= $(IMAGE_OUT)/config-drive.img

# Debian packages the image targets need on the build host (installed by deps).
EXTRA_DEB_PACKAGES += mmdebstrap debian-archive-keyring qemu-system-x86 qemu-utils \
	grub-pc-bin grub-efi-amd64-bin grub2-common e2fsprogs dosfstools mtools fdisk \
	util-linux coreutils openssh-client systemd-journal-remote

IMAGE_INPUTS := $(BUILD)/rempart image/build.sh image/README.md \
	$(shell find image/rootfs -type f 2>/dev/null) $(wildcard dist/*)

.PHONY: image image-test config-drive
image: $(IMAGE_QCOW2)

$(IMAGE_QCOW2): $(IMAGE_INPUTS)
	$(call msg,IMAGE,$@)
	$(Q)MAKE="$(MAKE)" image/build.sh $(IMAGE_OUT)

# IMAGE_TEST_PENDING=feature,…: checks needing a feature not merged yet print
# SKIP instead of FAIL (see image/test/boot-test.sh).
image-test: $(IMAGE_QCOW2)
	$(Q)IMAGE_TEST_PENDING="$(IMAGE_TEST_PENDING)" IMAGE_TEST_PENDING_WHY="$(IMAGE_TEST_PENDING_WHY)" image/test/boot-test.sh $(IMAGE_QCOW2)

config-drive:
	$(if $(CONFIG),,$(error usage: make config-drive CONFIG=dir [CONFIG_DRIVE=file]))
	$(Q)image/config-drive.sh $(CONFIG) $(CONFIG_DRIVE)
