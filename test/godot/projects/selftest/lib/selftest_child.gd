class_name SelftestChild
extends "res://lib/selftest_counter.gd"
## Extends another script by path: its cache entry must name SelftestCounter as the base.


## Bumps twice.
func bump_twice() -> int:
	bump()
	return bump()
