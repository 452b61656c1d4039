"""Item catalog (事项 and 办事指南) as data, its schema, and field validators — pure Python."""
