/* lifecycle.c - placeholder; implemented in a later commit. */
extern int csirt_placeholder_lifecycle;
