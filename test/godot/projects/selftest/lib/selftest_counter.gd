class_name SelftestCounter
extends RefCounted
## A tiny global class used by the self-test to prove the generated class cache works.

## Emitted every time [method bump] runs.
signal bumped(value: int)

## Current count.
var value: int = 0


## Adds [param by] to the count and returns the new value.
func bump(by: int = 1) -> int:
	value += by
	bumped.emit(value)
	return value
