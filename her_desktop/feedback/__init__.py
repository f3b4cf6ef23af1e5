"""Learning from the user's feedback: style corrections ("call me Sam", "shorter answers"),
their storage as preference memories, how they shape every later reply, and 👍/👎 ratings."""
