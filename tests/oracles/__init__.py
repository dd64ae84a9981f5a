"""Independent reference implementations the tests compare nerwin with."""
