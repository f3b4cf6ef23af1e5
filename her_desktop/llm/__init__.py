"""Language-model engines (one file per implementation), prompt building and sentence splitting."""
