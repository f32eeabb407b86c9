extends PkarrTestCase
## Global classes from other files resolve through the generated class cache.


func test_class_name_from_another_file() -> void:
	var counter: SelftestCounter = SelftestCounter.new()
	assert_eq(counter.bump(2), 2)
	assert_eq(counter.bump(), 3)


func test_class_extending_a_path() -> void:
	var child: SelftestChild = SelftestChild.new()
	assert_true(child is SelftestCounter, "SelftestChild extends SelftestCounter")
	assert_eq(child.bump_twice(), 2)


func test_global_class_list() -> void:
	var names: Array[String] = []
	for entry: Dictionary in ProjectSettings.get_global_class_list():
		names.append(str(entry["class"]))
	assert_has(names, "PkarrTestCase")
	assert_has(names, "SelftestChild")
