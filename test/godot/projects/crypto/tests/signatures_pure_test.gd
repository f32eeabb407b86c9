extends SignatureCases
## PkarrSignatures forced onto the pure-GDScript path.


func _pure() -> bool:
	return true
