"""``headwater replay``: read history again after a fix, into the live tables or a shadow.

``plan`` says what is read again; ``shadow`` keeps a sink's shadow table (a copy of the live
one that a replay lands into), ``diff`` compares it with the live table and ``shadow`` swaps
them.
"""
