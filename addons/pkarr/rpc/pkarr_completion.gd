@tool
class_name PkarrCompletion
extends RefCounted
## A one-shot awaitable: completes once with a [PkarrResult].
##
## GDScript cannot await "the first of several signals", so a pending request is one of these:
## the response handler, a timeout timer or a disconnect all call [method complete]; only the
## first call counts. Await [method wait], which also works when the completion already happened:
## [codeblock]
## var result: PkarrResult = await completion.wait()
## [/codeblock]

## Emitted once, with the result, by the first [method complete] call.
signal completed(result: PkarrResult)

## The result once completed, [code]null[/code] before.
var result: PkarrResult = null


## [code]true[/code] once [method complete] has been called.
func is_done() -> bool:
	return result != null


## Completes with [param outcome] unless already completed; returns whether this call counted.
func complete(outcome: PkarrResult) -> bool:
	if result != null:
		return false
	result = outcome
	completed.emit(outcome)
	return true


## Coroutine: the result, waiting for it if needed.
func wait() -> PkarrResult:
	if result != null:
		return result
	return await completed
