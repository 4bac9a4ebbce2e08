/* ini_edit.h — change a few keys of an INI file (a tenant file that `site
 * add`, `site rekey` and `site import` write, and the daemon tidies after a
 * rekey), keeping every other byte: comments, order, blank lines.
 *
 * Section and key names compare as iniparser reads them: case-insensitive,
 * blanks around them ignored ("[ Site  lyon ]" is section "site lyon").
 * Values must be INI-safe (ini_value_ok). */
#ifndef REMPART_INI_EDIT_H
#define REMPART_INI_EDIT_H
#include <stdbool.h>
#include <stddef.h>

struct ini_change {
	const char *section;	/* "site lyon" */
	const char *key;
	const char *value;	/* NULL: remove the key */
};

/* True when v can be written as a value: no newline, nothing that would
 * start a comment, a section or another key, no blank around it. */
bool ini_value_ok(const char *v);

/* TEXT with the changes applied (a key that is there is replaced in place,
 * one that is not is added after the section's last key), malloc'd.  NULL
 * with errno ENOENT when a section is not there, ENOMEM. */
char *ini_text_change(const char *text, const struct ini_change *c, size_t n);
/* TEXT with SECTION_TEXT ("[site x]\nkey = v\n...") appended after one
 * blank line.  NULL on ENOMEM. */
char *ini_text_append(const char *text, const char *section_text);
bool ini_text_has_section(const char *text, const char *section);

/* Apply ini_text_change to the file PATH: written whole to a temporary file
 * with PATH's mode, fsync'd and renamed over it.  0 or -errno. */
int ini_file_change(const char *path, const struct ini_change *c, size_t n);
#endif
