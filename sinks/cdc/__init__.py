"""The CDC mirror sink: ``norm.cdc.*`` into ``src_<table>`` tables that equal the source."""
