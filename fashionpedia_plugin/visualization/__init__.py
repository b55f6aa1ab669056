from .log_analysis import load_run, plot_runs, summarize, summary_table, trend_warnings

__all__ = ['load_run', 'plot_runs', 'summarize', 'summary_table', 'trend_warnings']
