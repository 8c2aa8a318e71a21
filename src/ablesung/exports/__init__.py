"""Export runs: the billing return file, the Excel results workbook, takeover statistics
and the release log, built when a clerk closes and exports a campaign."""
