//! Spreadsheet files as clerks exchange them: reading a roster grid from xlsx, xls or CSV
//! (UTF-8 or GBK), and writing the blank template and roster exports as xlsx.
