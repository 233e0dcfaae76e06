"""nbgrader's configuration for the course (run nbgrader from this folder)."""
c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "foundations-of-deep-learning"
# Only notebooks are released: nbgrader would otherwise copy every other file found beside a
# source notebook into the student version.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
# A cell that runs longer than this is interrupted and scored as failed.
c.ExecutePreprocessor.timeout = 120
