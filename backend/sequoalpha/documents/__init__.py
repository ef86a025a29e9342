"""Documents: who sees what (`visibility`), the life of a file (`files`, over the byte stores of
`storage` and the upload checks of `uploads`), the client and admin routes (`routes`,
`admin_routes`), every category route (`categories`) and `flask storage` (`storage_cli`)."""
