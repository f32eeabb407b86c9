@tool
class_name PkarrSidecarProcess
extends RefCounted
## Runs one sidecar process on desktop platforms (Linux, Windows, macOS; Godot 4.3+).
##
## Starts it with [method OS.execute_with_pipe], reads its single ready line on a thread,
## keeps draining its stdout and stderr (stderr goes to a log file), and stops it. It cannot
## run in web exports; [PkarrService] only uses it where [method is_supported] is true.
## Lines read on the threads reach the main thread through [method Object.call_deferred].

## Emitted on the main thread when the sidecar printed its ready line.
signal ready_received(port: int, token: String, version: String)
## Emitted on the main thread when the sidecar ended its stdout without a ready line, or
## printed something else first. [param reason] includes the last lines of its stderr.
signal start_failed(reason: String)

## How many stderr lines are kept for error messages.
const STDERR_TAIL_LINES := 20
## Bytes read from a pipe at once.
const READ_CHUNK := 4096

## The process id, or [code]-1[/code] when not running.
var pid: int = -1
## The command line that was started ([code]{path, args}[/code]).
var command: Dictionary = {}

var _stdio: FileAccess = null
var _stderr: FileAccess = null
var _stdout_thread: Thread = null
var _stderr_thread: Thread = null
var _log_path: String = ""
var _log: FileAccess = null
var _stderr_tail: PackedStringArray = PackedStringArray()
var _got_ready: bool = false


## [code]true[/code] where a sidecar can be spawned (desktop platforms, not the web).
static func is_supported() -> bool:
	return OS.get_name() in ["Linux", "Windows", "macOS", "FreeBSD", "NetBSD", "OpenBSD", "BSD"]


## Starts [code]command.path[/code] with [code]command.args[/code] (from
## [method PkarrSidecarLocator.build_command]). Its stderr is appended to [param log_path]
## when not empty. Restores the executable bit on Linux/macOS when an export lost it.
## Returns [constant OK] or an error; the ready line arrives later as [signal ready_received].
func start(start_command: Dictionary, log_path: String = "") -> Error:
	if pid != -1:
		return ERR_ALREADY_IN_USE
	command = start_command
	var path := str(command.get("path", ""))
	var args := PackedStringArray(command.get("args", PackedStringArray()))
	if path == "" or not FileAccess.file_exists(path):
		return ERR_FILE_NOT_FOUND
	_ensure_executable(path)
	var info: Dictionary = OS.execute_with_pipe(path, args)
	if info.is_empty():
		return ERR_CANT_CREATE
	pid = int(info["pid"])
	_stdio = info["stdio"]
	_stderr = info["stderr"]
	_got_ready = false
	_stderr_tail = PackedStringArray()
	_open_log(log_path)
	_stdout_thread = Thread.new()
	_stdout_thread.start(_read_stdout)
	_stderr_thread = Thread.new()
	_stderr_thread.start(_read_stderr)
	return OK


## [code]true[/code] while the process runs.
func is_running() -> bool:
	return pid != -1 and OS.is_process_running(pid)


## The exit code once it ended (where the engine reports it), else [code]-1[/code].
func exit_code() -> int:
	if pid == -1 or not OS.has_method("get_process_exit_code"):
		return -1
	return int(OS.call("get_process_exit_code", pid))


## The last lines the sidecar wrote to stderr, newest last.
func stderr_tail() -> PackedStringArray:
	return _stderr_tail.duplicate()


## Waits up to [param grace_msec] for the process to exit by itself (after a JSON-RPC
## [code]shutdown[/code]), then kills it; joins the reader threads. Blocks the calling thread,
## so keep [param grace_msec] short. Safe to call more than once.
func stop(grace_msec: int = 1500) -> void:
	if pid != -1:
		var deadline := Time.get_ticks_msec() + grace_msec
		while OS.is_process_running(pid) and Time.get_ticks_msec() < deadline:
			OS.delay_msec(20)
		if OS.is_process_running(pid):
			OS.kill(pid)
	_join_threads()
	if _log != null:
		_log.close()
		_log = null
	_stdio = null
	_stderr = null
	pid = -1


## Joins the reader threads of a process that has exited (both pipes are at end of file then).
## Call after [method is_running] turned false.
func release() -> void:
	stop(0)


func _ensure_executable(path: String) -> void:
	if OS.get_name() == "Windows":
		return
	var permissions := FileAccess.get_unix_permissions(path)
	var exec_bits := (FileAccess.UNIX_EXECUTE_OWNER | FileAccess.UNIX_EXECUTE_GROUP
			| FileAccess.UNIX_EXECUTE_OTHER)
	if permissions != 0 and permissions & FileAccess.UNIX_EXECUTE_OWNER == 0:
		FileAccess.set_unix_permissions(path, permissions | exec_bits)


func _open_log(log_path: String) -> void:
	_log_path = log_path
	if log_path == "":
		return
	DirAccess.make_dir_recursive_absolute(log_path.get_base_dir())
	_log = FileAccess.open(log_path, FileAccess.WRITE)


func _join_threads() -> void:
	for thread: Thread in [_stdout_thread, _stderr_thread]:
		if thread != null and thread.is_started():
			thread.wait_to_finish()
	_stdout_thread = null
	_stderr_thread = null


# Runs on a thread: splits stdout into lines (the first one must be the ready line), then reports
# the end of the stream.
func _read_stdout() -> void:
	_read_lines(_stdio, _on_stdout_line)
	_on_stdout_closed.call_deferred()


# Runs on a thread: keeps stderr drained, logs it and keeps the last lines.
func _read_stderr() -> void:
	_read_lines(_stderr, _on_stderr_line)


# Reads `pipe` until it closes and hands every line to `on_line` on the main thread.
func _read_lines(pipe: FileAccess, on_line: Callable) -> void:
	var pending := PackedByteArray()
	while true:
		var chunk := pipe.get_buffer(READ_CHUNK)
		if chunk.is_empty():
			break
		pending.append_array(chunk)
		var newline := pending.find(10)
		while newline != -1:
			var line := pending.slice(0, newline).get_string_from_utf8().strip_edges()
			pending = pending.slice(newline + 1)
			on_line.call_deferred(line)
			newline = pending.find(10)
	if not pending.is_empty():
		on_line.call_deferred(pending.get_string_from_utf8().strip_edges())


func _on_stdout_line(line: String) -> void:
	if line == "" or _got_ready:
		return
	var json := JSON.new()
	if json.parse(line) == OK and json.data is Dictionary and json.data.get("event") == "ready":
		var ready: Dictionary = json.data
		_got_ready = true
		ready_received.emit(PkarrJson.to_int(ready.get("port")),
				PkarrJson.to_text(ready.get("token")), PkarrJson.to_text(ready.get("version")))
		return
	_got_ready = true
	start_failed.emit("the sidecar printed %s instead of its ready line" % JSON.stringify(line))


func _on_stdout_closed() -> void:
	if _got_ready:
		return
	_got_ready = true
	var tail := "\n".join(_stderr_tail.slice(-5))
	start_failed.emit("the sidecar exited before it was ready%s" % (
			":\n" + tail if tail != "" else ""))


func _on_stderr_line(line: String) -> void:
	if _log != null:
		_log.store_line(line)
		_log.flush()
	_stderr_tail.append(line)
	if _stderr_tail.size() > STDERR_TAIL_LINES:
		_stderr_tail = _stderr_tail.slice(-STDERR_TAIL_LINES)
