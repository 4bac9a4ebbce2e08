/* text.h — small string helpers (text.c). */
#ifndef REMPART_TEXT_H
#define REMPART_TEXT_H

/* s without its leading and trailing white space (isspace): the end is cut
 * in place, the start returned. */
char *str_trim(char *s);
#endif
