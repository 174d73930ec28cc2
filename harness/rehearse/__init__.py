"""`harness rehearse`: the practical as a guided, timed run against the candidate's own project.

steps: the plan (pre-flight, the observed deployment, the redeploy, the alert drill) and what each needs;
record: the rehearsal file (a run document `harness diff` compares, plus timings, figures and answers);
cli: the command, its prompts and its terminal output.
"""
