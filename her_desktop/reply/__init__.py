"""The parts of one reply turn that the dialogue stage (``her_desktop.dialogue``) wires together.

- :mod:`~her_desktop.reply.prompt`: the prompt of a turn, fitted to the model's context.
- :mod:`~her_desktop.reply.notes`: the turn-context providers (memory, affect, style) asked
  around a turn, each within its budget.
- :mod:`~her_desktop.reply.answers`: turns answered in Python, not by the LM.
- :mod:`~her_desktop.reply.felt`: how the user seemed in each turn (affect's first estimate).
- :mod:`~her_desktop.reply.settings`: a reply's generation settings and its reply filter.
- :mod:`~her_desktop.reply.compose`: what one reply is written from (notes, feeling, guide,
  prompt, guards, Python answer, style shape, settings), gathered for each turn.
- :mod:`~her_desktop.reply.run`: writing one reply (the speculation settled, the Python
  answer, the speculation adopted or the LM streamed, one more try after a guard) and its
  ``ReplyFinished``.
- :mod:`~her_desktop.reply.writer`: what of the streamed reply is shown and spoken, each
  sentence checked, and the lines she adds at its end.
- :mod:`~her_desktop.reply.guards`: the checks of what the user said a reply must respect, and
  the closer's line.
- :mod:`~her_desktop.reply.history`: the conversation as the user got it.
- :mod:`~her_desktop.reply.handover`: when the providers get an exchange (a spoken one when its
  audio ended), and when a voiced reply is over.
- :mod:`~her_desktop.reply.ahead`: the speculations of a turn the user is still speaking.

None of them imports the stage.
"""
